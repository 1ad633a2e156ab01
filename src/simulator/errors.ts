/** Why the simulator refused a request or a control call; `status` is the HTTP answer. */
export type SimulatorErrorCode = 'SIM_BAD_REQUEST' | 'SIM_FORBIDDEN' | 'SIM_NOT_FOUND' | 'SIM_CONFLICT' | 'SIM_TOO_LARGE';

const STATUS: Record<SimulatorErrorCode, number> = {
  SIM_BAD_REQUEST: 400,
  SIM_FORBIDDEN: 403,
  SIM_NOT_FOUND: 404,
  SIM_CONFLICT: 409,
  SIM_TOO_LARGE: 413,
};

export class SimulatorError extends Error {
  readonly code: SimulatorErrorCode;
  readonly status: number;
  constructor(code: SimulatorErrorCode, message: string) {
    super(message);
    this.name = 'SimulatorError';
    this.code = code;
    this.status = STATUS[code];
  }
}

export const badRequest = (message: string): SimulatorError => new SimulatorError('SIM_BAD_REQUEST', message);
export const notFound = (message: string): SimulatorError => new SimulatorError('SIM_NOT_FOUND', message);
export const conflict = (message: string): SimulatorError => new SimulatorError('SIM_CONFLICT', message);
