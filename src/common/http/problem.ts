import { type ErrorCode, statusOf } from '../errors/error-codes';

/** RFC 9457 problem details, as every error response of this service is shaped. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The RFC 9110 reason phrase of each status the registry uses (its problem `title`). */
export const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The problem body for `code`, with the status the registry gives it (ERROR_CODES). */
export function problem(
  code: ErrorCode,
  detail: string,
  extensions: Record<string, unknown> = {},
): Problem {
  const status = statusOf(code);
  return {
    type: `urn:couponlock:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error'),
    status,
    detail,
    code,
    ...extensions,
  };
}
