import { DomainError } from '../common/errors/domain-error';

export class OrderNotFoundError extends DomainError {
  constructor(id: string) {
    super('ORDER_NOT_FOUND', `Order ${id} does not exist.`, { orderId: id });
  }
}
