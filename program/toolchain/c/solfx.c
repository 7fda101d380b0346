/*
 * Integer helpers for the Solana IR fix-ups (program/toolchain/ir_fixups.py).
 *
 * Upstream LLVM lowers 128-bit multiply/divide/variable shifts, 64-bit
 * overflow-checked multiplies and signed division to compiler-rt libcalls
 * (__multi3, __udivti3, ...) that the BPF backend refuses, and SBPF v0 has no
 * signed division at all. The fix-ups replace each such IR instruction with a
 * call to one of these functions; every argument is a 64-bit limb and wide
 * results come back through `out`, so no call needs more than the five BPF
 * argument registers nor returns more than one register. The exported
 * functions are always_inline: after linking they are inlined and then
 * internalized away (only the shared 128-bit division stays a function).
 *
 * Only unsigned 64-bit arithmetic, shifts and comparisons are used here (no
 * 128-bit types, no signed division), so this file itself lowers without
 * libcalls. Keep it that way: the relinker rejects anything else.
 */

typedef unsigned long long u64;
typedef long long i64;

#define FX __attribute__((always_inline))
#define LOCAL static inline __attribute__((always_inline))

/* Number of leading zero bits of x, x != 0. */
LOCAL u64 clz64(u64 x) {
    u64 n = 0;
    if ((x >> 32) == 0) { n += 32; x <<= 32; }
    if ((x >> 48) == 0) { n += 16; x <<= 16; }
    if ((x >> 56) == 0) { n += 8; x <<= 8; }
    if ((x >> 60) == 0) { n += 4; x <<= 4; }
    if ((x >> 62) == 0) { n += 2; x <<= 2; }
    if ((x >> 63) == 0) { n += 1; }
    return n;
}

/* (hi, lo) = a * b, full 128-bit product from 32-bit halves. */
LOCAL void mul_wide(u64 a, u64 b, u64 *hi, u64 *lo) {
    u64 a0 = a & 0xffffffffULL, a1 = a >> 32;
    u64 b0 = b & 0xffffffffULL, b1 = b >> 32;
    u64 p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    u64 mid = (p00 >> 32) + (p01 & 0xffffffffULL) + (p10 & 0xffffffffULL);
    *lo = (p00 & 0xffffffffULL) | (mid << 32);
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/* (u1:u0) / v for u1 < v: 64-bit quotient, remainder in *r
 * (Hacker's Delight "divlu", 64-bit words split in 32-bit digits). */
LOCAL u64 divlu(u64 u1, u64 u0, u64 v, u64 *r) {
    const u64 b = 1ULL << 32;
    u64 s = clz64(v);
    u64 un32, un10;
    v <<= s;
    if (s != 0) {
        un32 = (u1 << s) | (u0 >> (64 - s));
        un10 = u0 << s;
    } else {
        un32 = u1;
        un10 = u0;
    }
    u64 vn1 = v >> 32, vn0 = v & 0xffffffffULL;
    u64 un1 = un10 >> 32, un0 = un10 & 0xffffffffULL;
    u64 q1 = un32 / vn1;
    u64 rhat = un32 - q1 * vn1;
    while (q1 >= b || q1 * vn0 > b * rhat + un1) {
        q1 -= 1;
        rhat += vn1;
        if (rhat >= b) break;
    }
    u64 un21 = un32 * b + un1 - q1 * v;
    u64 q0 = un21 / vn1;
    rhat = un21 - q0 * vn1;
    while (q0 >= b || q0 * vn0 > b * rhat + un0) {
        q0 -= 1;
        rhat += vn1;
        if (rhat >= b) break;
    }
    *r = (un21 * b + un0 - q0 * v) >> s;
    return q1 * b + q0;
}

/* out[0..2] = quotient, out[2..4] = remainder of a / b (b != 0).
 * Not inlined: it is large, and the call costs only a few CU. */
static __attribute__((noinline)) void udivmod128(u64 al, u64 ah, u64 bl, u64 bh, u64 *out) {
    u64 ql, qh, rl, rh;
    if (bh == 0) {
        if (ah == 0) {
            ql = al / bl;
            rl = al % bl;
            qh = 0;
        } else if (ah < bl) {
            ql = divlu(ah, al, bl, &rl);
            qh = 0;
        } else {
            qh = ah / bl;
            ql = divlu(ah % bl, al, bl, &rl);
        }
        rh = 0;
    } else if (ah < bh || (ah == bh && al < bl)) {
        ql = 0; qh = 0; rl = al; rh = ah;
    } else {
        /* b >= 2^64: the quotient fits in 64 bits (Hacker's Delight 9-5). */
        u64 n = clz64(bh);
        u64 v1 = n != 0 ? (bh << n) | (bl >> (64 - n)) : bh;
        u64 u1h = ah >> 1, u1l = (al >> 1) | (ah << 63);
        u64 unused;
        u64 q1 = divlu(u1h, u1l, v1, &unused);
        u64 q0 = q1 >> (63 - n);
        if (q0 != 0) q0 -= 1;
        /* r = a - q0 * b */
        u64 ph, pl;
        mul_wide(q0, bl, &ph, &pl);
        ph += q0 * bh;
        rl = al - pl;
        rh = ah - ph - (al < pl);
        if (rh > bh || (rh == bh && rl >= bl)) {
            q0 += 1;
            u64 nl = rl - bl;
            rh = rh - bh - (rl < bl);
            rl = nl;
        }
        ql = q0;
        qh = 0;
    }
    out[0] = ql; out[1] = qh; out[2] = rl; out[3] = rh;
}

LOCAL void neg128(u64 *l, u64 *h) {
    u64 nl = 0 - *l;
    *h = 0 - *h - (*l != 0);
    *l = nl;
}

/* ---- exported helpers (names are referenced by ir_fixups.py) ---- */

/* out[0..2] = a * b mod 2^128 */
FX void __solfx_mul128(u64 *out, u64 al, u64 ah, u64 bl, u64 bh) {
    u64 hi, lo;
    mul_wide(al, bl, &hi, &lo);
    out[0] = lo;
    out[1] = hi + al * bh + ah * bl;
}

/* out[0..2] = a / b (unsigned) */
FX void __solfx_udiv128(u64 *out, u64 al, u64 ah, u64 bl, u64 bh) {
    u64 t[4];
    udivmod128(al, ah, bl, bh, t);
    out[0] = t[0]; out[1] = t[1];
}

/* out[0..2] = a % b (unsigned) */
FX void __solfx_urem128(u64 *out, u64 al, u64 ah, u64 bl, u64 bh) {
    u64 t[4];
    udivmod128(al, ah, bl, bh, t);
    out[0] = t[2]; out[1] = t[3];
}

/* out[0..2] = a / b (signed, truncating) */
FX void __solfx_sdiv128(u64 *out, u64 al, u64 ah, u64 bl, u64 bh) {
    u64 na = ah >> 63, nb = bh >> 63;
    u64 t[4];
    if (na) neg128(&al, &ah);
    if (nb) neg128(&bl, &bh);
    udivmod128(al, ah, bl, bh, t);
    if (na != nb) neg128(&t[0], &t[1]);
    out[0] = t[0]; out[1] = t[1];
}

/* out[0..2] = a % b (signed, sign of a) */
FX void __solfx_srem128(u64 *out, u64 al, u64 ah, u64 bl, u64 bh) {
    u64 na = ah >> 63, nb = bh >> 63;
    u64 t[4];
    if (na) neg128(&al, &ah);
    if (nb) neg128(&bl, &bh);
    udivmod128(al, ah, bl, bh, t);
    if (na) neg128(&t[2], &t[3]);
    out[0] = t[2]; out[1] = t[3];
}

/* out[0..2] = a << (s & 127) */
FX void __solfx_shl128(u64 *out, u64 al, u64 ah, u64 s) {
    s &= 127;
    if (s == 0) {
        out[0] = al; out[1] = ah;
    } else if (s >= 64) {
        out[0] = 0; out[1] = al << (s - 64);
    } else {
        out[0] = al << s; out[1] = (ah << s) | (al >> (64 - s));
    }
}

/* out[0..2] = a >> (s & 127), logical */
FX void __solfx_lshr128(u64 *out, u64 al, u64 ah, u64 s) {
    s &= 127;
    if (s == 0) {
        out[0] = al; out[1] = ah;
    } else if (s >= 64) {
        out[0] = ah >> (s - 64); out[1] = 0;
    } else {
        out[0] = (al >> s) | (ah << (64 - s)); out[1] = ah >> s;
    }
}

/* out[0..2] = a >> (s & 127), arithmetic */
FX void __solfx_ashr128(u64 *out, u64 al, u64 ah, u64 s) {
    s &= 127;
    if (s == 0) {
        out[0] = al; out[1] = ah;
    } else if (s >= 64) {
        out[0] = (u64)((i64)ah >> (s - 64)); out[1] = (u64)((i64)ah >> 63);
    } else {
        out[0] = (al >> s) | (ah << (64 - s)); out[1] = (u64)((i64)ah >> s);
    }
}

/* out[0] = a * b mod 2^64, out[1] = unsigned overflow flag */
FX void __solfx_umulo64(u64 *out, u64 a, u64 b) {
    u64 hi, lo;
    mul_wide(a, b, &hi, &lo);
    out[0] = lo; out[1] = hi != 0;
}

/* out[0] = a * b mod 2^64, out[1] = signed overflow flag */
FX void __solfx_smulo64(u64 *out, u64 a, u64 b) {
    u64 na = a >> 63, nb = b >> 63;
    u64 ua = na ? 0 - a : a, ub = nb ? 0 - b : b;
    u64 hi, lo;
    mul_wide(ua, ub, &hi, &lo);
    u64 neg = na ^ nb;
    u64 limit = neg ? (1ULL << 63) : (1ULL << 63) - 1;
    out[1] = hi != 0 || lo > limit;
    out[0] = neg ? 0 - lo : lo;
}

/* out[0..2] = a * b mod 2^128, out[2] = unsigned overflow flag */
FX void __solfx_umulo128(u64 *out, u64 al, u64 ah, u64 bl, u64 bh) {
    u64 ovf = ah != 0 && bh != 0;
    u64 h1, l1, h2, l2, h0, l0;
    mul_wide(ah, bl, &h1, &l1);
    mul_wide(al, bh, &h2, &l2);
    mul_wide(al, bl, &h0, &l0);
    ovf |= h1 != 0 || h2 != 0;
    u64 mid = l1 + l2;
    ovf |= mid < l1;
    u64 hi = h0 + mid;
    ovf |= hi < h0;
    out[0] = l0; out[1] = hi; out[2] = ovf;
}

/* out[0..2] = a * b mod 2^128, out[2] = signed overflow flag */
FX void __solfx_smulo128(u64 *out, u64 al, u64 ah, u64 bl, u64 bh) {
    u64 na = ah >> 63, nb = bh >> 63;
    u64 t[3];
    if (na) neg128(&al, &ah);
    if (nb) neg128(&bl, &bh);
    __solfx_umulo128(t, al, ah, bl, bh);
    u64 neg = na ^ nb;
    /* |a*b| must be <= 2^127 - 1 (positive) or <= 2^127 (negative) */
    u64 too_big = t[1] > (1ULL << 63) - 1 &&
                  !(neg && t[1] == (1ULL << 63) && t[0] == 0);
    out[2] = t[2] || too_big;
    if (neg) neg128(&t[0], &t[1]);
    out[0] = t[0]; out[1] = t[1];
}

/* a / b, signed 64-bit, truncating (b != 0) */
FX u64 __solfx_sdiv64(u64 a, u64 b) {
    u64 na = a >> 63, nb = b >> 63;
    u64 q = (na ? 0 - a : a) / (nb ? 0 - b : b);
    return na != nb ? 0 - q : q;
}

/* a % b, signed 64-bit, sign of a (b != 0) */
FX u64 __solfx_srem64(u64 a, u64 b) {
    u64 na = a >> 63, nb = b >> 63;
    u64 r = (na ? 0 - a : a) % (nb ? 0 - b : b);
    return na ? 0 - r : r;
}
