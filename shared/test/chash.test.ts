import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RING_SIZE,
  RING_TOP,
  chashKey,
  hashToHex,
  indexToPartition,
  partitionIndex,
  responsiblePartition,
  ringIncrement,
  termToBinary,
  validateRingSize,
} from '../chash.js';
import { testSeed } from '../harness/seed.js';

// Vectors computed by Erlang/OTP (tools/gen-chash-vectors.escript); see `generated_by` in the file.
interface Vector {
  bucket: string;
  key: string;
  term_hex: string;
  sha1_hex: string;
  partition_8: number;
  partition_64: number;
  partition_1024: number;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/chash-vectors.json', import.meta.url), 'utf8')) as {
  generated_by: string;
  otp_release: string;
  vectors: Vector[];
};

const seed = testSeed('chash properties');

const ringSize = fc.integer({ min: 3, max: 10 }).map((e) => 2 ** e);
const hash = fc.bigInt({ min: 0n, max: RING_TOP - 1n });
// A ring size and a partition number in it.
const ringAndPartition = ringSize.chain((q) => fc.tuple(fc.constant(q), fc.integer({ min: 0, max: q - 1 })));

const short = (s: string) => JSON.stringify(s.length > 20 ? `${s.slice(0, 20)}…(${s.length})` : s);

describe('chash against Erlang/OTP vectors', () => {
  it('has vectors', () => {
    expect(fixture.otp_release).not.toBe('');
    expect(fixture.vectors.length).toBeGreaterThan(10);
  });

  for (const v of fixture.vectors) {
    it(`{${short(v.bucket)}, ${short(v.key)}}`, () => {
      expect(termToBinary(v.bucket, v.key).toString('hex')).toBe(v.term_hex);
      // Bytes in, same term out.
      expect(termToBinary(Buffer.from(v.bucket), new TextEncoder().encode(v.key)).toString('hex')).toBe(v.term_hex);
      const h = chashKey(v.bucket, v.key);
      expect(hashToHex(h)).toBe(v.sha1_hex);
      expect(responsiblePartition(h, 8)).toBe(v.partition_8);
      expect(responsiblePartition(h, 64)).toBe(v.partition_64);
      expect(responsiblePartition(h, 1024)).toBe(v.partition_1024);
    });
  }
});

describe('chash properties', () => {
  it('responsiblePartition is in 0..q-1', () => {
    fc.assert(
      fc.property(ringSize, hash, (q, h) => {
        const p = responsiblePartition(h, q);
        return Number.isInteger(p) && p >= 0 && p < q;
      }),
      { seed },
    );
  });

  it('partition p owns exactly [index(p-1), index(p)), wrapping', () => {
    // From ((h div inc) + 1) rem q: p owns h iff h div inc = p-1 (mod q). For p = 0 that is the
    // top arc [index(q-1), 2^160), which is where index(q-1) + inc lands, so no special case.
    fc.assert(
      fc.property(ringSize, hash, (q, h) => {
        const p = responsiblePartition(h, q);
        const start = partitionIndex((p + q - 1) % q, q);
        return start <= h && h < start + ringIncrement(q);
      }),
      { seed },
    );
  });

  it('arc boundaries: index(k) goes to k+1, index(k)-1 stays with k', () => {
    fc.assert(
      fc.property(ringAndPartition, ([q, k]) => {
        const idx = partitionIndex(k, q);
        expect(responsiblePartition(idx, q)).toBe((k + 1) % q);
        expect(responsiblePartition((idx - 1n + RING_TOP) % RING_TOP, q)).toBe(k);
      }),
      { seed },
    );
  });

  it('indexToPartition inverts partitionIndex', () => {
    fc.assert(
      fc.property(ringAndPartition, ([q, p]) => indexToPartition(partitionIndex(p, q), q) === p),
      { seed },
    );
  });

  it('the increments of a ring sum to RING_TOP', () => {
    fc.assert(
      fc.property(ringSize, (q) => {
        let sum = 0n;
        for (let p = 0; p < q; p++) sum += ringIncrement(q);
        expect(sum).toBe(RING_TOP);
        expect(partitionIndex(q - 1, q) + ringIncrement(q)).toBe(RING_TOP);
      }),
      { seed },
    );
  });

  it('chashKey is a 160-bit value that hashToHex round-trips', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.uint8Array(), (b, k) => {
        const h = chashKey(b, k);
        const hex = hashToHex(h);
        return h >= 0n && h < RING_TOP && hex.length === 40 && BigInt(`0x${hex}`) === h;
      }),
      { seed },
    );
  });
});

describe('chash errors', () => {
  it('validateRingSize accepts powers of two in 8..1024', () => {
    for (const q of [8, 16, 32, DEFAULT_RING_SIZE, 128, 256, 512, 1024])
      expect(() => validateRingSize(q)).not.toThrow();
  });

  it.each([0, 4, 12, 2048, 64.5, -64, Number.NaN])('validateRingSize rejects %s', (q) => {
    expect(() => validateRingSize(q)).toThrow(RangeError);
    expect(() => validateRingSize(q)).toThrow(`ring size must be a power of two between 8 and 1024, got ${q}`);
  });

  it('functions taking q validate it', () => {
    expect(() => ringIncrement(12)).toThrow(RangeError);
    expect(() => partitionIndex(0, 2048)).toThrow(RangeError);
    expect(() => responsiblePartition(0n, 4)).toThrow(RangeError);
    expect(() => indexToPartition(0n, 0)).toThrow(RangeError);
  });

  it.each([-1, 64, 65, 1.5, Number.NaN])('partitionIndex rejects partition %s for q=64', (p) => {
    expect(() => partitionIndex(p, 64)).toThrow(RangeError);
  });

  it('responsiblePartition and hashToHex reject hashes outside [0, 2^160)', () => {
    expect(() => responsiblePartition(-1n, 64)).toThrow(RangeError);
    expect(() => responsiblePartition(RING_TOP, 64)).toThrow(RangeError);
    expect(() => hashToHex(-1n)).toThrow(RangeError);
    expect(() => hashToHex(RING_TOP)).toThrow(RangeError);
  });

  it('indexToPartition rejects non-indices', () => {
    expect(() => indexToPartition(1n, 64)).toThrow(RangeError);
    expect(() => indexToPartition(ringIncrement(64) - 1n, 64)).toThrow(RangeError);
    expect(() => indexToPartition(RING_TOP, 64)).toThrow(RangeError);
    expect(() => indexToPartition(-ringIncrement(64), 64)).toThrow(RangeError);
  });
});
