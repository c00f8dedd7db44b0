import { isISO8601, isRFC3339, ValidateBy, type ValidationOptions } from 'class-validator';

/**
 * An RFC 3339 date-time with an explicit offset (`2025-06-01T00:00:00Z`,
 * `2025-06-01T02:00:00+02:00`) that names a real calendar instant. A bare date or a time
 * without offset would be read in some implied zone, so it is refused rather than guessed.
 * Both checks come from validator.js: isRFC3339 for the shape (it requires the offset),
 * isISO8601 in strict mode for the calendar (no February 30th) and the `T` separator.
 */
export function isDateTimeWithOffset(value: unknown): boolean {
  return (
    typeof value === 'string' &&
    isRFC3339(value) &&
    isISO8601(value, { strict: true, strictSeparator: true })
  );
}

export function IsDateTimeWithOffset(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isDateTimeWithOffset',
      validator: {
        validate: isDateTimeWithOffset,
        defaultMessage: (args) =>
          `${args?.property ?? 'value'} must be an RFC 3339 date-time with an offset, such as ` +
          `2025-06-01T00:00:00Z or 2025-06-01T02:00:00+02:00 (a bare date or a time ` +
          `without offset is ambiguous)`,
      },
    },
    options,
  );
}
