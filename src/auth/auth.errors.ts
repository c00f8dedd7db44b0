import { DomainError } from '../common/errors/domain-error';

export class UnauthenticatedError extends DomainError {
  constructor(reason: 'missing' | 'invalid') {
    super(
      'UNAUTHENTICATED',
      reason === 'missing'
        ? 'An API key is required: send it in the x-api-key header.'
        : 'The API key in the x-api-key header is not valid.',
    );
  }
}

export class ForbiddenError extends DomainError {
  constructor() {
    super('FORBIDDEN', 'This operation requires an admin API key.');
  }
}
