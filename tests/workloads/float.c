/*
 * Floating point in user mode: the kernel must save and restore SSE and x87
 * state and leave MXCSR and the FPU control word at their Linux defaults.
 */
#include <emmintrin.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* volatile keeps the compiler from folding the math at build time. */
static volatile double two = 2.0;
static volatile double third = 1.0 / 3.0;
static volatile float f_three = 3.0f;

int main(int argc, char **argv)
{
    double x = argc > 1 ? atof(argv[1]) : two;
    printf("sqrt(%g) = %.15f\n", x, sqrt(x));
    printf("sin(1) = %.15f\n", sin(two / 2.0));
    printf("cos(pi/3) = %.15f\n", cos(acos(-1.0) / 3.0));
    printf("exp(1) = %.12e\n", exp(two - 1.0));
    printf("log(10) = %.12g\n", log(two * 5.0));
    printf("pow(2, 0.5) = %.15f\n", pow(two, 0.5));
    printf("atan2(1, 1) = %.15f\n", atan2(two, two));
    printf("third = %f %e %g %a\n", third, third, third, third);
    printf("large = %f %e %g\n", 1e300 * two, 1e300 * two, 1e300 * two);
    printf("small = %e %g\n", DBL_MIN * two, DBL_MIN * two);
    printf("inf = %f, nan = %f\n", 1.0 / (two - 2.0), (double)NAN);
    printf("float sqrtf(3) = %.7f, sinf = %.7f\n", (double)sqrtf(f_three),
           (double)sinf(f_three));
    printf("rounding: %.0f %.0f %.0f %.0f\n", 0.5 * two / 2, 1.5, 2.5, -2.5 * two / 2);
    printf("lround(2.5) = %ld, rint(2.5) = %.1f\n", lround(2.5 * two / 2), rint(2.5 * two / 2));

    long double ld = (long double)third;
    long double ld3 = ld * 3.0L;
    printf("long double: sizeof=%zu digits=%d 1/3*3=%.18Lf\n", sizeof ld, LDBL_MANT_DIG, ld3);
    long double sq = sqrtl(2.0L * (long double)two / 2.0L);
    printf("sqrtl(2) = %.18Lf\n", sq);

    __m128d a = _mm_set_pd(4.0 * two / 2, 9.0);
    __m128d r = _mm_sqrt_pd(a);
    double out[2];
    _mm_storeu_pd(out, r);
    printf("sse2 sqrt_pd = %.3f %.3f\n", out[0], out[1]);
    __m128i i1 = _mm_set_epi32(1, 2, 3, 4);
    __m128i i2 = _mm_set_epi32(10, 20, 30, 40);
    __m128i isum = _mm_add_epi32(i1, i2);
    int iout[4];
    _mm_storeu_si128((__m128i *)iout, isum);
    printf("sse2 add_epi32 = %d %d %d %d\n", iout[0], iout[1], iout[2], iout[3]);
    __m128d prod = _mm_mul_pd(_mm_set1_pd(third), _mm_set1_pd(3.0));
    _mm_storeu_pd(out, prod);
    printf("sse2 mul_pd = %.17g\n", out[0]);
    printf("mxcsr = %#x\n", _mm_getcsr());

    /* A long dependency chain that would diverge if state were corrupted. */
    double acc = 0.0;
    for (int i = 1; i <= 1000000; i++)
        acc += 1.0 / ((double)i * (double)i);
    printf("sum 1/n^2 = %.15f (pi^2/6 = %.15f)\n", acc, M_PI * M_PI / 6.0);
    return 0;
}
