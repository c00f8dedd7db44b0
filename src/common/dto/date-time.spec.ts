import { isDateTimeWithOffset } from './date-time';

describe('isDateTimeWithOffset', () => {
  it.each([
    '2025-06-01T00:00:00Z',
    '2025-06-01T00:00:00z',
    '2025-06-01T02:00:00+02:00',
    '2025-06-01T02:00:00-05:30',
    '2025-06-01T00:00:00.123Z',
    '2025-06-01T00:00:00.123456+00:00',
    '2024-02-29T12:00:00Z',
  ])('accepts %s', (value) => {
    expect(isDateTimeWithOffset(value)).toBe(true);
  });

  it.each([
    ['a bare date', '2025-06-01'],
    ['a time without offset', '2025-06-01T00:00:00'],
    ['a time without seconds', '2025-06-01T00:00Z'],
    ['a space for the T', '2025-06-01 00:00:00Z'],
    ['an offset without colon', '2025-06-01T00:00:00+0200'],
    ['February 30th', '2030-02-30T00:00:00Z'],
    ['February 29th of a common year', '2025-02-29T00:00:00Z'],
    ['hour 24', '2025-06-01T24:00:00Z'],
    ['a week date', '2025-W22-1T00:00:00Z'],
    ['words', 'tomorrow'],
    ['a number', 1748736000000],
    ['null', null],
  ])('refuses %s', (_name, value) => {
    expect(isDateTimeWithOffset(value)).toBe(false);
  });
});
