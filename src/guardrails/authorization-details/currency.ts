/**
 * Money in `authorization_details` (issue 18): a decimal string in the currency's major unit, carried as an
 * integer number of minor units so that thresholds and budgets compare exactly (no binary floating point).
 * ISO 4217 minor-unit exponents: 2 unless listed here.
 */
const EXPONENTS: Readonly<Record<string, number>> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
};

const CURRENCY = /^[A-Z]{3}$/u;
/** At most 15 integer digits: every amount stays an exact integer in minor units (< 2^53). */
const AMOUNT = /^(0|[1-9]\d{0,14})(?:\.(\d{1,3}))?$/u;

export function isCurrencyCode(value: string): boolean {
  return CURRENCY.test(value);
}

export function currencyExponent(currency: string): number {
  return EXPONENTS[currency] ?? 2;
}

/** "1500.5" EUR -> 150050; undefined when malformed or more fraction digits than the currency has. */
export function amountToMinor(amount: string, currency: string): number | undefined {
  const match = AMOUNT.exec(amount);
  if (!match) return undefined;
  const exponent = currencyExponent(currency);
  const fraction = match[2] ?? '';
  if (fraction.length > exponent) return undefined;
  const minor = Number(match[1]) * 10 ** exponent + Number(fraction.padEnd(exponent, '0') || '0');
  return Number.isSafeInteger(minor) ? minor : undefined;
}

/** 150050 EUR -> "1500.50": the canonical written form of an amount. */
export function minorToAmount(minor: number, currency: string): string {
  const exponent = currencyExponent(currency);
  if (exponent === 0) return String(minor);
  const digits = String(minor).padStart(exponent + 1, '0');
  return `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}
