// Types of outcome.js for the TypeScript side (load/harness.ts); k6 reads only the .js file.

export type Kind = 'success' | 'refused' | 'unexpected';

export declare const SUCCESS: 'success';
export declare const REFUSED: 'refused';
export declare const UNEXPECTED: 'unexpected';

export interface Expectation {
  success: readonly number[];
  refusals?: ReadonlyArray<{ status: number; code: string }>;
}

export declare function outcomeKind(
  answer: { status: number; code: string | null; body: object | null },
  expect: Expectation,
): Kind;
