import type { ValueTransformer } from 'typeorm';

/**
 * pg returns bigint as a string to stay exact. Money in minor units is validated to stay far
 * below 2^53, so it is safe as a JS number.
 */
export const bigintAsNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};
