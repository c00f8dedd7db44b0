import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

export const IDEMPOTENCY_STATUSES = ['in_progress', 'completed'] as const;
export type IdempotencyStatus = (typeof IDEMPOTENCY_STATUSES)[number];

/**
 * One Idempotency-Key per (scope, key). Mirrors migration 1763700000000-IdempotencyKeys
 * exactly; the repository writes with plain SQL, this class describes the table for the
 * schema drift check and for readers.
 */
@Entity({ name: 'idempotency_keys' })
@Index('idx_idempotency_keys_expires_at', ['expiresAt'])
@Check(
  'chk_idempotency_keys_state',
  `("status" = 'in_progress' AND "response_status" IS NULL AND "response_body" IS NULL) OR ("status" = 'completed' AND "response_status" BETWEEN 100 AND 599)`,
)
export class IdempotencyKeyEntity {
  /** API key id, method and route template: keys of different callers never collide. */
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'pk_idempotency_keys' })
  scope!: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'pk_idempotency_keys' })
  key!: string;

  /** SHA-256 hex of the concrete URL and canonical body. */
  @Column({ type: 'char', length: 64 })
  fingerprint!: string;

  @Column({ type: 'text' })
  status!: IdempotencyStatus;

  @Column({ name: 'response_status', type: 'integer', nullable: true })
  responseStatus!: number | null;

  @Column({ name: 'response_body', type: 'jsonb', nullable: true })
  responseBody!: unknown;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  /** Last claim or completion; an in_progress row's age (for takeover) is measured from it. */
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;
}
