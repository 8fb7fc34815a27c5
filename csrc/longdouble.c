/* INCRBYFLOAT / HINCRBYFLOAT arithmetic in C's long double, formatted exactly as Redis formats it.
 *
 * Redis parses both operands with strtold, adds them as 80-bit extended floats on x86-64 and prints the result
 * with "%.17Lf" minus trailing zeros. Rust has no long double, and an f64 emulation differs in the last digits
 * for most non-trivial values, so this one function is C. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LONG_DOUBLE_CHARS (5 * 1024)

static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[MAX_LONG_DOUBLE_CHARS];
    char *eptr;
    long double v;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (strlen(buf) != len) return 0; /* embedded NUL */
    errno = 0;
    v = strtold(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || eptr[0] != '\0' ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) || isnan(v))
        return 0;
    *out = v;
    return 1;
}

/* Returns 0 on success (result in out, its length in *outlen), 1 when an operand is not a valid float,
 * 2 when the sum is NaN or infinite, 3 when out is too small. */
int strata_ld_add(const char *a, size_t alen, const char *b, size_t blen, char *out, size_t *outlen) {
    long double x, y, v;
    int l;
    size_t cap = *outlen;
    if (!parse_ld(a, alen, &x) || !parse_ld(b, blen, &y)) return 1;
    v = x + y;
    if (isnan(v) || isinf(v)) return 2;
    l = snprintf(out, cap, "%.17Lf", v);
    if (l < 0 || (size_t)l + 1 > cap) return 3;
    if (strchr(out, '.') != NULL) {
        char *p = out + l - 1;
        while (*p == '0') {
            p--;
            l--;
        }
        if (*p == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') {
        out[0] = '0';
        l = 1;
    }
    *outlen = (size_t)l;
    return 0;
}
