/* eslint-disable @typescript-eslint/no-explicit-any -- test bodies are asserted field by field;
   typing every response shape here would only restate the assertions. */
import { Pool } from 'undici';

export interface ApiResponse<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

/** A thin JSON client over undici for tests: returns status, headers and parsed body. */
export class ApiClient {
  private readonly pool: Pool;

  constructor(
    readonly baseUrl: string,
    private readonly apiKey?: string,
    connections = 16,
  ) {
    this.pool = new Pool(baseUrl, { connections, pipelining: 1 });
  }

  withKey(apiKey: string | undefined): ApiClient {
    return new ApiClient(this.baseUrl, apiKey);
  }

  get<T = any>(path: string, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    return this.request<T>('GET', path, undefined, headers);
  }

  post<T = any>(
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    return this.request<T>('POST', path, body, headers);
  }

  patch<T = any>(
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    return this.request<T>('PATCH', path, body, headers);
  }

  /** Sends `rawBody` exactly as given, for malformed-input tests. */
  async request<T = any>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    rawBody?: string | Buffer,
  ): Promise<ApiResponse<T>> {
    const allHeaders: Record<string, string> = { ...headers };
    if (this.apiKey) allHeaders['x-api-key'] = this.apiKey;
    let payload: string | Buffer | undefined = rawBody;
    if (payload === undefined && body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined && !allHeaders['content-type'])
      allHeaders['content-type'] = 'application/json';
    const response = await this.pool.request({ method, path, headers: allHeaders, body: payload });
    const text = await response.body.text();
    const contentType = String(response.headers['content-type'] ?? '');
    return {
      status: response.statusCode,
      headers: response.headers,
      body: (contentType.includes('json') && text ? JSON.parse(text) : text) as T,
    };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
