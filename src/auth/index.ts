export { AdminOnly, ApiController, ApiKeyAuth, CurrentPrincipal, Public } from './auth.decorators';
export { ForbiddenError, UnauthenticatedError } from './auth.errors';
export { ApiKeyGuard } from './api-key.guard';
export { API_KEY_HEADER, ApiKeyVerifier, keyIdOf } from './api-key-verifier';
export { AuthModule } from './auth.module';
export { principalOf, type Principal, type Role } from './principal';
