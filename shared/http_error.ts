/**
 * The one shape of every HTTP error the nodes answer: exercise 5's API and the dashboard
 * (`{ error: { status, code, message, ...details } }`). Not a riak_core concept: Riak's HTTP
 * interface (webmachine) answers plain-text errors; ours are JSON so clients branch on `code`.
 */

/** The body of every error response. `details` (e.g. `param`, `needed`) sit next to the code. */
export interface ErrorBody {
  readonly error: {
    readonly status: number;
    readonly code: string;
    readonly message: string;
    readonly [detail: string]: unknown;
  };
}

/**
 * An error with its HTTP status (4xx, 5xx), a stable machine-readable `code` and details for the
 * client. Throw it from a handler; the server's error handler sends {@link HttpError.toBody}.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  /** `{ error: { status, code, message, ...details } }` */
  toBody(): ErrorBody {
    return { error: { status: this.status, code: this.code, message: this.message, ...this.details } };
  }
}
