// Fixed vocabularies of the seeded data: names, POS platforms, stores and a small product range.

export const FIRST_NAMES = [
  'Olivia', 'Liam', 'Emma', 'Noah', 'Ava', 'Elijah', 'Sophia', 'James', 'Isabella', 'Lucas',
  'Mia', 'Mason', 'Amelia', 'Ethan', 'Harper', 'Logan', 'Evelyn', 'Aiden', 'Abigail', 'Jackson',
  'Emily', 'Sebastian', 'Ella', 'Mateo', 'Scarlett', 'Jack', 'Grace', 'Owen', 'Chloe', 'Daniel',
  'Camila', 'Henry', 'Aria', 'Wyatt', 'Riley', 'Carter', 'Layla', 'Julian', 'Zoey', 'Levi',
  'Nora', 'Isaac', 'Lily', 'Gabriel', 'Hannah', 'Anthony', 'Luna', 'Dylan', 'Maya', 'Leo',
] as const;

export const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin',
  'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson',
  'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores',
  'Green', 'Adams', 'Nelson', 'Baker', 'Hall', 'Rivera', 'Campbell', 'Mitchell', 'Carter', 'Roberts',
] as const;

/** Reserved domains (RFC 2606): seeded addresses can never reach a real mailbox. */
export const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net'] as const;

/** Area codes of states with legal cannabis retail; exchanges are drawn from 200-999. */
export const AREA_CODES = [
  '206', '213', '253', '303', '310', '312', '313', '323', '360', '406', '413', '415', '425', '503',
  '505', '509', '510', '517', '541', '559', '602', '605', '616', '617', '619', '626', '702', '707',
  '719', '720', '734', '773', '775', '805', '808', '818', '831', '858', '907', '916', '951', '971',
] as const;

export const PLATFORMS = [
  { name: 'cova', prefix: 'CV' },
  { name: 'treez', prefix: 'TZ' },
  { name: 'dutchie', prefix: 'DT' },
  { name: 'flowhub', prefix: 'FH' },
  { name: 'blaze', prefix: 'BZ' },
] as const;

export const STORES = [
  { id: 1, name: 'Downtown' },
  { id: 2, name: 'Eastside' },
  { id: 3, name: 'Harbor' },
  { id: 4, name: 'Hillcrest' },
  { id: 5, name: 'Airport Road' },
  { id: 6, name: 'Riverside' },
] as const;

export interface Product {
  productID: string;
  name: string;
  brand: string;
  category: string;
  /** Unit price in currency units. */
  price: number;
}

export const PRODUCTS: readonly Product[] = [
  { productID: 'p-1001', name: 'Blue Dream 3.5g', brand: 'Humboldt Farms', category: 'flower', price: 35 },
  { productID: 'p-1002', name: 'Sour Diesel 3.5g', brand: 'Humboldt Farms', category: 'flower', price: 38 },
  { productID: 'p-1003', name: 'OG Kush 1g Pre-roll', brand: 'Sunset Rolls', category: 'pre-roll', price: 12 },
  { productID: 'p-1004', name: 'Jack Herer 5-pack', brand: 'Sunset Rolls', category: 'pre-roll', price: 40 },
  { productID: 'p-1005', name: 'Hybrid Vape Cart 1g', brand: 'Cloud Nine', category: 'vape', price: 45 },
  { productID: 'p-1006', name: 'Indica Vape Cart 0.5g', brand: 'Cloud Nine', category: 'vape', price: 28 },
  { productID: 'p-1007', name: 'Watermelon Gummies 100mg', brand: 'Sweet Leaf', category: 'edible', price: 20 },
  { productID: 'p-1008', name: 'Dark Chocolate Bar 100mg', brand: 'Sweet Leaf', category: 'edible', price: 24 },
  { productID: 'p-1009', name: 'Live Resin 1g', brand: 'Alpine Extracts', category: 'concentrate', price: 55 },
  { productID: 'p-1010', name: 'Shatter 1g', brand: 'Alpine Extracts', category: 'concentrate', price: 35 },
  { productID: 'p-1011', name: 'CBD Tincture 30ml', brand: 'Green Remedy', category: 'tincture', price: 60 },
  { productID: 'p-1012', name: 'Relief Balm 2oz', brand: 'Green Remedy', category: 'topical', price: 32 },
  { productID: 'p-1013', name: 'Gelato 7g', brand: 'Coastal Cultivars', category: 'flower', price: 65 },
  { productID: 'p-1014', name: 'Sparkling Tonic 10mg', brand: 'Fizz Co', category: 'beverage', price: 8 },
];
