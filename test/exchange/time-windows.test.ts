import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WEEKDAYS, type TimeWindow, type Weekday } from '../../src/domain/catalog.js';
import { currentWindow, parseHhMm } from '../../src/exchange/time-windows.js';

const at = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad date ${iso}`);
  return ms;
};

function win(days: readonly Weekday[], from: string, to: string, timeZone = 'Europe/Berlin'): TimeWindow {
  return { days, from, to, timeZone };
}

const WORKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri'];
const officeHours = win(WORKDAYS, '09:00', '17:00');

describe('parseHhMm', () => {
  it('parses 24 h times into minutes', () => {
    expect(parseHhMm('00:00')).toBe(0);
    expect(parseHhMm('09:05')).toBe(545);
    expect(parseHhMm('23:59')).toBe(1439);
  });

  it.each(['24:00', '9:00', '09:60', '09:00:00', ' 09:00', '0900', '', '-1:00', '\uff10\uff19:00'])(
    'refuses %s',
    (value) => {
      expect(parseHhMm(value)).toBeUndefined();
    },
  );
});

describe('currentWindow', () => {
  it('treats no windows as always open, with no end', () => {
    expect(currentWindow([], at('2025-06-04T10:00:00Z'))).toEqual({ inside: true, endsAtMs: null });
  });

  it('is inside office hours and reports their end', () => {
    // 2025-06-04 is a Wednesday; Berlin is at +02:00 in June.
    expect(currentWindow([officeHours], at('2025-06-04T10:00:00+02:00'))).toEqual({
      inside: true,
      endsAtMs: at('2025-06-04T17:00:00+02:00'),
    });
  });

  it('includes `from` and excludes `to`', () => {
    expect(currentWindow([officeHours], at('2025-06-04T09:00:00+02:00')).inside).toBe(true);
    expect(currentWindow([officeHours], at('2025-06-04T08:59:59.999+02:00')).inside).toBe(false);
    expect(currentWindow([officeHours], at('2025-06-04T16:59:59.999+02:00')).inside).toBe(true);
    expect(currentWindow([officeHours], at('2025-06-04T17:00:00+02:00')).inside).toBe(false);
  });

  it('is outside on a day not listed', () => {
    expect(currentWindow([officeHours], at('2025-06-07T10:00:00+02:00'))).toEqual({ inside: false });
  });

  it('evaluates the clock in the window time zone, not UTC', () => {
    // 08:30 UTC is 10:30 in Berlin (inside) and 04:30 in New York (outside).
    const now = at('2025-06-04T08:30:00Z');
    expect(currentWindow([officeHours], now).inside).toBe(true);
    expect(currentWindow([win(WORKDAYS, '09:00', '17:00', 'America/New_York')], now).inside).toBe(false);
    // 23:30 UTC on Friday is already Saturday in Tokyo.
    expect(currentWindow([win(['fri'], '00:00', '23:59', 'Asia/Tokyo')], at('2025-06-06T23:30:00Z')).inside).toBe(
      false,
    );
  });

  describe('windows crossing midnight', () => {
    const fridayNight = win(['fri'], '22:00', '02:00');

    it('covers the early hours of the next day, the listed day being the start day', () => {
      // 2025-06-06 is a Friday.
      expect(currentWindow([fridayNight], at('2025-06-07T01:00:00+02:00'))).toEqual({
        inside: true,
        endsAtMs: at('2025-06-07T02:00:00+02:00'),
      });
      expect(currentWindow([fridayNight], at('2025-06-06T23:00:00+02:00'))).toEqual({
        inside: true,
        endsAtMs: at('2025-06-07T02:00:00+02:00'),
      });
    });

    it('does not cover the early hours of the listed day itself, nor the next evening', () => {
      expect(currentWindow([fridayNight], at('2025-06-06T01:00:00+02:00')).inside).toBe(false);
      expect(currentWindow([fridayNight], at('2025-06-07T23:00:00+02:00')).inside).toBe(false);
      expect(currentWindow([fridayNight], at('2025-06-06T21:59:00+02:00')).inside).toBe(false);
      expect(currentWindow([fridayNight], at('2025-06-07T02:00:00+02:00')).inside).toBe(false);
    });

    it('reads from == to as a whole day starting at `from`', () => {
      // 2025-06-02 is a Monday.
      const monday = win(['mon'], '00:00', '00:00');
      expect(currentWindow([monday], at('2025-06-02T23:59:00+02:00'))).toEqual({
        inside: true,
        endsAtMs: at('2025-06-03T00:00:00+02:00'),
      });
      expect(currentWindow([monday], at('2025-06-03T00:00:00+02:00')).inside).toBe(false);
    });

    it('reads a `to` of 00:00 as the following midnight', () => {
      expect(currentWindow([win(['wed'], '09:00', '00:00')], at('2025-06-04T23:00:00+02:00'))).toEqual({
        inside: true,
        endsAtMs: at('2025-06-05T00:00:00+02:00'),
      });
    });
  });

  describe('daylight saving time', () => {
    it('follows the spring-forward offset change in Europe/Berlin (2025-03-30)', () => {
      const sundayEarly = win(['sun'], '01:00', '05:00');
      // 01:30 local is still +01:00; 05:00 local is already +02:00, so the window lasts 3 real hours.
      expect(currentWindow([sundayEarly], at('2025-03-30T00:30:00Z'))).toEqual({
        inside: true,
        endsAtMs: at('2025-03-30T03:00:00Z'),
      });
      expect(currentWindow([sundayEarly], at('2025-03-30T02:59:59Z')).inside).toBe(true);
      expect(currentWindow([sundayEarly], at('2025-03-30T03:00:00Z')).inside).toBe(false);
    });

    it('keeps local office hours across the change', () => {
      // Friday before: 07:30Z is 08:30 local (+01:00), outside. Monday after: 07:30Z is 09:30 local (+02:00).
      expect(currentWindow([officeHours], at('2025-03-28T07:30:00Z')).inside).toBe(false);
      expect(currentWindow([officeHours], at('2025-03-31T07:30:00Z'))).toEqual({
        inside: true,
        endsAtMs: at('2025-03-31T15:00:00Z'),
      });
    });

    it('ends an overnight window crossing the change at the new offset', () => {
      const saturdayNight = win(['sat'], '22:00', '06:00');
      expect(currentWindow([saturdayNight], at('2025-03-29T21:00:00Z')).inside).toBe(true);
      expect(currentWindow([saturdayNight], at('2025-03-30T03:59:00Z'))).toEqual({
        inside: true,
        endsAtMs: at('2025-03-30T04:00:00Z'),
      });
      expect(currentWindow([saturdayNight], at('2025-03-30T04:00:00Z')).inside).toBe(false);
    });

    it('covers both occurrences of the repeated hour on fall-back day in America/New_York (2025-11-02)', () => {
      const sundayNight = win(['sun'], '00:00', '03:00', 'America/New_York');
      const end = at('2025-11-02T03:00:00-05:00');
      expect(currentWindow([sundayNight], at('2025-11-02T01:30:00-04:00'))).toEqual({ inside: true, endsAtMs: end });
      expect(currentWindow([sundayNight], at('2025-11-02T01:30:00-05:00'))).toEqual({ inside: true, endsAtMs: end });
      expect(currentWindow([sundayNight], at('2025-11-02T02:59:00-05:00')).inside).toBe(true);
      expect(currentWindow([sundayNight], end).inside).toBe(false);
      // The window lasted four real hours that night.
      expect(end - at('2025-11-02T00:00:00-04:00')).toBe(4 * 3600_000);
    });
  });

  it('reports the latest end among the windows containing now', () => {
    const wednesdayLong = win(['wed'], '08:00', '20:00');
    const utcMorning = win(['wed'], '07:00', '09:00', 'UTC');
    expect(currentWindow([officeHours, wednesdayLong, utcMorning], at('2025-06-04T10:00:00+02:00'))).toEqual({
      inside: true,
      endsAtMs: at('2025-06-04T20:00:00+02:00'),
    });
  });

  it('ignores a window that does not contain now, when another does', () => {
    const weekend = win(['sat', 'sun'], '00:00', '00:00');
    expect(currentWindow([weekend, officeHours], at('2025-06-04T10:00:00+02:00'))).toEqual({
      inside: true,
      endsAtMs: at('2025-06-04T17:00:00+02:00'),
    });
  });

  it('fails closed on an unknown time zone or a malformed time', () => {
    const now = at('2025-06-04T10:00:00+02:00');
    expect(currentWindow([win(WORKDAYS, '00:00', '00:00', 'Mars/Olympus_Mons')], now).inside).toBe(false);
    expect(currentWindow([win(WORKDAYS, '9:00', '17:00')], now).inside).toBe(false);
    expect(currentWindow([win(WORKDAYS, '09:00', '24:00')], now).inside).toBe(false);
    expect(currentWindow([win([], '00:00', '00:00')], now).inside).toBe(false);
    expect(currentWindow([officeHours], Number.NaN).inside).toBe(false);
  });
});

describe('currentWindow: properties', () => {
  const ZONES = ['Europe/Berlin', 'America/New_York', 'UTC', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham'];
  const hhmm = fc
    .tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 15, 30, 45, 59))
    .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
  const windowArb = fc.record({
    days: fc.uniqueArray(fc.constantFrom(...WEEKDAYS), { maxLength: 7 }),
    from: hhmm,
    to: hhmm,
    timeZone: fc.constantFrom(...ZONES),
  });
  const clock = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) });

  it('reports an end after now, at most one (long) day ahead, and still inside just before it', () => {
    fc.assert(
      fc.property(fc.array(windowArb, { minLength: 1, maxLength: 3 }), clock, (windows, nowMs) => {
        const position = currentWindow(windows, nowMs);
        if (!position.inside) return;
        expect(position.endsAtMs).not.toBeNull();
        const end = position.endsAtMs ?? 0;
        expect(end).toBeGreaterThan(nowMs);
        expect(end - nowMs).toBeLessThanOrEqual(25 * 3600_000);
        expect(currentWindow(windows, end - 1).inside).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('is always inside an all-week, all-day window and never inside a window with no days', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), hhmm, clock, (timeZone, at, nowMs) => {
        expect(currentWindow([{ days: WEEKDAYS, from: at, to: at, timeZone }], nowMs).inside).toBe(true);
        expect(currentWindow([{ days: [], from: at, to: at, timeZone }], nowMs).inside).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
