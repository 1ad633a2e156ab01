import { cpus, loadavg, totalmem, availableParallelism } from 'node:os';

export interface MachineFacts {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  redis: string;
  /** How the benchmarks' Redis was found (see bench/lib/redis.ts). */
  redisSource: string;
  /** 1-minute load average when the run started: how busy the shared machine was. */
  loadAverageAtStart: number;
  platform: string;
}

export function machineFacts(redis: { version: string; source: string }): MachineFacts {
  const model = cpus()[0]?.model.trim() ?? 'unknown';
  return {
    cores: availableParallelism(),
    cpuModel: model,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    redis: redis.version,
    redisSource: redis.source,
    loadAverageAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    platform: `${process.platform} ${process.arch}`,
  };
}
