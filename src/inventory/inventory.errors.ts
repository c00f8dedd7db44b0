import { DomainError } from '../common/errors/domain-error';

export class ProductNotFoundError extends DomainError {
  constructor(sku: string) {
    super('PRODUCT_NOT_FOUND', `Product ${sku} does not exist.`, { sku });
  }
}

export class SkuTakenError extends DomainError {
  constructor(sku: string) {
    super('SKU_TAKEN', `A product with SKU ${sku} already exists.`, { sku });
  }
}

export class InsufficientStockError extends DomainError {
  constructor(sku: string, available: number, requested: number) {
    super('INSUFFICIENT_STOCK', `Only ${available} of ${sku} in stock; ${requested} requested.`, {
      sku,
      available,
      requested,
    });
  }
}

export class StockLimitExceededError extends DomainError {
  constructor(sku: string, limit: number) {
    super('STOCK_LIMIT_EXCEEDED', `Restocking would take ${sku} above ${limit}.`, {
      sku,
      limit,
    });
  }
}
