/**
 * Kubernetes resource quantities ("100m", "1Gi", "2e3"): a float value for comparisons that need no more
 * (parseQuantity), and `Quantity`, exact to the nano unit with Kubernetes' canonical printing, for sums
 * that are shown back to users (quota usage, limit ranges).
 */

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

const SUFFIX: Record<string, number> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** The most decimal digits a quantity's whole part may have (Kubernetes' int64 quantities have 19). */
export const MAX_QUANTITY_DIGITS = 100;

/** Why a value is not a quantity, in Kubernetes' words; undefined when it is one. */
export function quantityProblem(q: unknown): string | undefined {
  if (Quantity.parse(q) !== undefined) return undefined;
  if ((typeof q === 'string' || typeof q === 'number') && QUANTITY.test(String(q).trim())) return `must be less than 1e${MAX_QUANTITY_DIGITS}`;
  return "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
}

/** The value of a quantity (a JSON number or a string), or undefined when it is not one. */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  if (typeof q !== 'string') return undefined;
  const m = QUANTITY.exec(q.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  if (/^[eE]/.test(suffix)) return n * 10 ** Number(suffix.slice(1));
  return n * SUFFIX[suffix]!;
}

/** How a quantity prints: as it was written (`1Gi` binary, `1G` decimal, `1e9` exponent). */
export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

const DECIMAL_EXPONENT: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const DECIMAL_SUFFIX = new Map(Object.entries(DECIMAL_EXPONENT).map(([s, e]) => [e, s]));
const BINARY_SUFFIXES = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const NANO = 10n ** 9n;
const pow10 = (n: number): bigint => 10n ** BigInt(n);
const ceilDiv = (a: bigint, b: bigint): bigint => (a % b === 0n ? a / b : a / b + (a > 0n ? 1n : 0n));

/** Quantities parsed lately, by their text (they are immutable, so one object serves every caller). */
const PARSED = new Map<string, Quantity>();
const PARSED_MAX = 4096;

/** An exact quantity (in units of 10^-9, rounded up beyond that as Kubernetes does) and its format. */
export class Quantity {
  private constructor(
    /** The value times 10^9. */
    readonly nano: bigint,
    readonly format: QuantityFormat,
  ) {}

  static readonly ZERO = new Quantity(0n, 'DecimalSI');

  /** A whole number of units. */
  static of(units: number | bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
    return new Quantity(BigInt(units) * NANO, format);
  }

  /** Parses a string or JSON number as Kubernetes does; undefined when it is not a quantity. */
  static parse(q: unknown): Quantity | undefined {
    if (typeof q === 'number') return Number.isFinite(q) ? Quantity.parse(String(q)) : undefined;
    if (typeof q !== 'string' || q.length > 4 * MAX_QUANTITY_DIGITS) return undefined;
    const known = PARSED.get(q);
    if (known) return known;
    const m = QUANTITY.exec(q.trim());
    if (!m) return undefined;
    const [num, suffix = ''] = [m[1]!, m[2]];
    const negative = num.startsWith('-');
    const [whole = '', frac = ''] = num.replace(/^[+-]/, '').split('.');
    let digits = BigInt(`${whole}${frac}` || '0');
    let exp = -frac.length; // value = digits * 10^exp * multiplier
    let format: QuantityFormat = 'DecimalSI';
    if (/^[eE]/.test(suffix)) {
      exp += Number(suffix.slice(1));
      format = 'DecimalExponent';
    } else if (BINARY_SUFFIXES.includes(suffix) && suffix !== '') {
      digits *= 1024n ** BigInt(BINARY_SUFFIXES.indexOf(suffix));
      format = 'BinarySI';
    } else exp += DECIMAL_EXPONENT[suffix]!;
    exp += 9;
    const places = digits === 0n ? 0 : digits.toString().length;
    // Beyond 10^MAX_QUANTITY_DIGITS the value is refused (a huge exponent would take the process with it);
    // far below a nano unit it rounds up to one, as Kubernetes rounds tiny requests up.
    if (digits !== 0n && places + exp > MAX_QUANTITY_DIGITS + 9) return undefined;
    const nano = digits === 0n ? 0n : exp >= 0 ? digits * pow10(exp) : -exp > places ? 1n : ceilDiv(digits, pow10(-exp));
    const parsed = new Quantity(negative ? -nano : nano, format);
    // The same few strings ("100m", "64Mi") come again and again; parsing them is most of the cost.
    if (PARSED.size >= PARSED_MAX) PARSED.clear();
    PARSED.set(q, parsed);
    return parsed;
  }

  /** Like `parse`, for values already validated: anything else counts as zero. */
  static orZero(q: unknown): Quantity {
    return Quantity.parse(q) ?? Quantity.ZERO;
  }

  isZero(): boolean {
    return this.nano === 0n;
  }

  sign(): number {
    return this.nano === 0n ? 0 : this.nano > 0n ? 1 : -1;
  }

  /** The sum, in this quantity's format (in the other's when this one is zero, as Kubernetes' Add). */
  add(o: Quantity): Quantity {
    return new Quantity(this.nano + o.nano, this.isZero() ? o.format : this.format);
  }

  sub(o: Quantity): Quantity {
    return new Quantity(this.nano - o.nano, this.isZero() ? o.format : this.format);
  }

  cmp(o: Quantity): number {
    return this.nano === o.nano ? 0 : this.nano > o.nano ? 1 : -1;
  }

  /** The value rounded up to a whole unit (Kubernetes' Value()). */
  value(): bigint {
    return ceilDiv(this.nano, NANO);
  }

  /** The value in thousandths, rounded up (MilliValue()). */
  milliValue(): bigint {
    return ceilDiv(this.nano, 10n ** 6n);
  }

  /** An approximate float value (cores, bytes). */
  toNumber(): number {
    return Number(this.nano) / 1e9;
  }

  /** The same value printed in another format. */
  withFormat(format: QuantityFormat): Quantity {
    return new Quantity(this.nano, format);
  }

  /** Kubernetes' canonical form: `1500m` → `1500m`, `1000m` → `1`, `1024Mi` → `1Gi`, `1536Mi` stays. */
  toString(): string {
    if (this.nano === 0n) return '0';
    const whole = this.nano % NANO === 0n;
    const units = this.nano / NANO;
    if (this.format === 'BinarySI' && whole && (units >= 1024n || units <= -1024n)) {
      let v = units;
      let i = 0;
      while (i < BINARY_SUFFIXES.length - 1 && v % 1024n === 0n) {
        v /= 1024n;
        i++;
      }
      return `${v}${BINARY_SUFFIXES[i]}`;
    }
    let mantissa = this.nano;
    let exp = -9;
    while (mantissa % 10n === 0n) {
      mantissa /= 10n;
      exp++;
    }
    const rest = ((exp % 3) + 3) % 3;
    mantissa *= pow10(rest);
    exp -= rest;
    if (this.format === 'DecimalExponent') return exp === 0 ? `${mantissa}` : `${mantissa}e${exp}`;
    const suffix = DECIMAL_SUFFIX.get(exp);
    return suffix !== undefined ? `${mantissa}${suffix}` : `${mantissa}e${exp}`;
  }

  toJSON(): string {
    return this.toString();
  }
}
