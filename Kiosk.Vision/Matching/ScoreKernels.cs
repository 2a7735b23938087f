using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Kiosk.Vision.Matching;

/// <summary>
/// Dot products of one query with many stored rows, for each storage precision. Rows are <c>stride</c> elements
/// apart and zero-padded to a multiple of <see cref="RowAlignment"/> bytes, so no kernel needs a tail loop.
/// </summary>
/// <remarks>
/// Every kernel scores <see cref="RowsPerPass"/> rows per pass over the query: each loaded query vector is used four
/// times and the four accumulators are independent chains, so the loop runs at the speed of the row stream.
/// Three variants each: x86 with AVX2 (256-bit), portable <see cref="Vector128"/> (arm64 NEON, or x86 without AVX2)
/// and scalar. The variants are public to the tests, which check each against the scalar one.
/// </remarks>
internal static class ScoreKernels
{
    /// <summary>Row starts and row lengths are multiples of this many bytes (a cache line).</summary>
    public const int RowAlignment = 64;

    public const int RowsPerPass = 4;

    /// <summary>
    /// Float16 rows are widened with integer instructions (no F16C intrinsic is exposed in .NET): a half's bits
    /// sign-extended to 32 bits and shifted left by 13 land its exponent and mantissa in a float's fields; the
    /// AND clears the three copies of the sign between them. The result is the half's value times 2^-112 (the two
    /// exponent biases differ by 112), which the query absorbs: it is pre-multiplied by 2^112.
    /// Exact for normal halves and zero; <see cref="FaceIndex"/> stores subnormal halves as zero so that no
    /// product has a denormal operand (slow on some x86 cores).
    /// </summary>
    public const float HalfQueryScale = 5.192296858534828e33f; // 2^112

    private const int HalfBitsMask = unchecked((int)0x8FFFFFFF);

    public enum Isa { Scalar, Vector128, Avx2 }

    /// <summary>The fastest variant this machine runs.</summary>
    public static Isa Best { get; } = Avx2.IsSupported && Fma.IsSupported ? Isa.Avx2
        : Vector128.IsHardwareAccelerated ? Isa.Vector128 : Isa.Scalar;

    /// <summary>Elements per stored row: <paramref name="dimension"/> rounded up to whole <see cref="RowAlignment"/> blocks.</summary>
    public static int Stride(int dimension, int elementSize) =>
        checked((dimension * elementSize + RowAlignment - 1) / RowAlignment * RowAlignment / elementSize);

    // ---- float32 ------------------------------------------------------------------------------------------------

    /// <summary>scores[i] = rows[i] . query.</summary>
    public static void Float32(Isa isa, ReadOnlySpan<float> rows, int stride, ReadOnlySpan<float> query, Span<float> scores)
    {
        Check(rows.Length, stride, query.Length, scores.Length, elementSize: sizeof(float));
        switch (isa)
        {
            case Isa.Avx2: Float32Avx2(ref MemoryMarshal.GetReference(rows), stride, ref MemoryMarshal.GetReference(query), scores); break;
            case Isa.Vector128: Float32V128(ref MemoryMarshal.GetReference(rows), stride, ref MemoryMarshal.GetReference(query), scores); break;
            default: Float32Scalar(rows, stride, query, scores); break;
        }
    }

    private static void Float32Avx2(ref float rows, int stride, ref float query, Span<float> scores)
    {
        nuint s = (nuint)stride;
        int i = 0;
        for (; i + RowsPerPass <= scores.Length; i += RowsPerPass)
        {
            ref float r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (nuint j = 0; j < s; j += 8)
            {
                var q = Vector256.LoadUnsafe(ref query, j);
                a0 = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref r, j), q, a0);
                a1 = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref r, j + s), q, a1);
                a2 = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref r, j + 2 * s), q, a2);
                a3 = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref r, j + 3 * s), q, a3);
            }
            scores[i] = Vector256.Sum(a0);
            scores[i + 1] = Vector256.Sum(a1);
            scores[i + 2] = Vector256.Sum(a2);
            scores[i + 3] = Vector256.Sum(a3);
        }
        for (; i < scores.Length; i++)
        {
            ref float r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector256<float> a = default;
            for (nuint j = 0; j < s; j += 8)
                a = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref r, j), Vector256.LoadUnsafe(ref query, j), a);
            scores[i] = Vector256.Sum(a);
        }
    }

    private static void Float32V128(ref float rows, int stride, ref float query, Span<float> scores)
    {
        // Two accumulators per row: eight chains cover the FMA latency of a NEON core with two FMA pipes.
        nuint s = (nuint)stride;
        int i = 0;
        for (; i + RowsPerPass <= scores.Length; i += RowsPerPass)
        {
            ref float r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector128<float> b0 = default, b1 = default, b2 = default, b3 = default;
            for (nuint j = 0; j < s; j += 8)
            {
                var q = Vector128.LoadUnsafe(ref query, j);
                var p = Vector128.LoadUnsafe(ref query, j + 4);
                a0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref r, j), q, a0);
                b0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref r, j + 4), p, b0);
                a1 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref r, j + s), q, a1);
                b1 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref r, j + s + 4), p, b1);
                a2 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref r, j + 2 * s), q, a2);
                b2 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref r, j + 2 * s + 4), p, b2);
                a3 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref r, j + 3 * s), q, a3);
                b3 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref r, j + 3 * s + 4), p, b3);
            }
            scores[i] = Vector128.Sum(a0 + b0);
            scores[i + 1] = Vector128.Sum(a1 + b1);
            scores[i + 2] = Vector128.Sum(a2 + b2);
            scores[i + 3] = Vector128.Sum(a3 + b3);
        }
        for (; i < scores.Length; i++)
        {
            ref float r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector128<float> a = default;
            for (nuint j = 0; j < s; j += 4)
                a = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref r, j), Vector128.LoadUnsafe(ref query, j), a);
            scores[i] = Vector128.Sum(a);
        }
    }

    private static void Float32Scalar(ReadOnlySpan<float> rows, int stride, ReadOnlySpan<float> query, Span<float> scores)
    {
        for (int i = 0; i < scores.Length; i++)
        {
            var r = rows.Slice(i * stride, stride);
            float a = 0;
            for (int j = 0; j < stride; j++) a += r[j] * query[j];
            scores[i] = a;
        }
    }

    // ---- float16 ------------------------------------------------------------------------------------------------

    /// <summary>scores[i] = rows[i] . query, rows as <see cref="Half"/> bits, query pre-multiplied by <see cref="HalfQueryScale"/>.</summary>
    public static void Float16(Isa isa, ReadOnlySpan<short> rows, int stride, ReadOnlySpan<float> scaledQuery, Span<float> scores)
    {
        Check(rows.Length, stride, scaledQuery.Length, scores.Length, elementSize: sizeof(short));
        switch (isa)
        {
            case Isa.Avx2: Float16Avx2(ref MemoryMarshal.GetReference(rows), stride, ref MemoryMarshal.GetReference(scaledQuery), scores); break;
            case Isa.Vector128: Float16V128(ref MemoryMarshal.GetReference(rows), stride, ref MemoryMarshal.GetReference(scaledQuery), scores); break;
            default: Float16Scalar(rows, stride, scaledQuery, scores); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> HalfBits(Vector256<int> sx) =>
        Avx2.And(Avx2.ShiftLeftLogical(sx, 13), Vector256.Create(HalfBitsMask)).AsSingle();

    private static void Float16Avx2(ref short rows, int stride, ref float query, Span<float> scores)
    {
        nuint s = (nuint)stride;
        int i = 0;
        for (; i + RowsPerPass <= scores.Length; i += RowsPerPass)
        {
            ref short r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (nuint j = 0; j < s; j += 8)
            {
                // vpmovsxwd with a memory operand: load and widen eight halves in one instruction.
                var q = Vector256.LoadUnsafe(ref query, j);
                a0 = Fma.MultiplyAdd(HalfBits(Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref r, j))), q, a0);
                a1 = Fma.MultiplyAdd(HalfBits(Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref r, j + s))), q, a1);
                a2 = Fma.MultiplyAdd(HalfBits(Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref r, j + 2 * s))), q, a2);
                a3 = Fma.MultiplyAdd(HalfBits(Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref r, j + 3 * s))), q, a3);
            }
            scores[i] = Vector256.Sum(a0);
            scores[i + 1] = Vector256.Sum(a1);
            scores[i + 2] = Vector256.Sum(a2);
            scores[i + 3] = Vector256.Sum(a3);
        }
        for (; i < scores.Length; i++)
        {
            ref short r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector256<float> a = default;
            for (nuint j = 0; j < s; j += 8)
                a = Fma.MultiplyAdd(HalfBits(Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref r, j))), Vector256.LoadUnsafe(ref query, j), a);
            scores[i] = Vector256.Sum(a);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> HalfBits(Vector128<int> sx) =>
        Vector128.BitwiseAnd(Vector128.ShiftLeft(sx, 13), Vector128.Create(HalfBitsMask)).AsSingle();

    private static void Float16V128(ref short rows, int stride, ref float query, Span<float> scores)
    {
        nuint s = (nuint)stride;
        int i = 0;
        for (; i + RowsPerPass <= scores.Length; i += RowsPerPass)
        {
            ref short r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector128<float> b0 = default, b1 = default, b2 = default, b3 = default;
            for (nuint j = 0; j < s; j += 8)
            {
                var q = Vector128.LoadUnsafe(ref query, j);
                var p = Vector128.LoadUnsafe(ref query, j + 4);
                var h0 = Vector128.LoadUnsafe(ref r, j);
                var h1 = Vector128.LoadUnsafe(ref r, j + s);
                var h2 = Vector128.LoadUnsafe(ref r, j + 2 * s);
                var h3 = Vector128.LoadUnsafe(ref r, j + 3 * s);
                a0 = Vector128.MultiplyAddEstimate(HalfBits(Vector128.WidenLower(h0)), q, a0);
                b0 = Vector128.MultiplyAddEstimate(HalfBits(Vector128.WidenUpper(h0)), p, b0);
                a1 = Vector128.MultiplyAddEstimate(HalfBits(Vector128.WidenLower(h1)), q, a1);
                b1 = Vector128.MultiplyAddEstimate(HalfBits(Vector128.WidenUpper(h1)), p, b1);
                a2 = Vector128.MultiplyAddEstimate(HalfBits(Vector128.WidenLower(h2)), q, a2);
                b2 = Vector128.MultiplyAddEstimate(HalfBits(Vector128.WidenUpper(h2)), p, b2);
                a3 = Vector128.MultiplyAddEstimate(HalfBits(Vector128.WidenLower(h3)), q, a3);
                b3 = Vector128.MultiplyAddEstimate(HalfBits(Vector128.WidenUpper(h3)), p, b3);
            }
            scores[i] = Vector128.Sum(a0 + b0);
            scores[i + 1] = Vector128.Sum(a1 + b1);
            scores[i + 2] = Vector128.Sum(a2 + b2);
            scores[i + 3] = Vector128.Sum(a3 + b3);
        }
        for (; i < scores.Length; i++)
        {
            ref short r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector128<float> a = default;
            for (nuint j = 0; j < s; j += 8)
            {
                var h = Vector128.LoadUnsafe(ref r, j);
                a = Vector128.MultiplyAddEstimate(HalfBits(Vector128.WidenLower(h)), Vector128.LoadUnsafe(ref query, j), a);
                a = Vector128.MultiplyAddEstimate(HalfBits(Vector128.WidenUpper(h)), Vector128.LoadUnsafe(ref query, j + 4), a);
            }
            scores[i] = Vector128.Sum(a);
        }
    }

    private static void Float16Scalar(ReadOnlySpan<short> rows, int stride, ReadOnlySpan<float> scaledQuery, Span<float> scores)
    {
        for (int i = 0; i < scores.Length; i++)
        {
            var r = rows.Slice(i * stride, stride);
            float a = 0;
            for (int j = 0; j < stride; j++) a += (float)BitConverter.Int16BitsToHalf(r[j]) * (scaledQuery[j] / HalfQueryScale);
            scores[i] = a;
        }
    }

    // ---- int8 ---------------------------------------------------------------------------------------------------

    /// <summary>
    /// scores[i] = (rows[i] . query) * rowScales[i] * queryScale, the dot product in exact integer arithmetic.
    /// The query is int8-quantized like the rows but held as shorts, so that it is widened once per search.
    /// </summary>
    public static void Int8(Isa isa, ReadOnlySpan<sbyte> rows, int stride, ReadOnlySpan<float> rowScales,
        ReadOnlySpan<short> query, float queryScale, Span<float> scores)
    {
        Check(rows.Length, stride, query.Length, scores.Length, elementSize: sizeof(sbyte));
        if (rowScales.Length != scores.Length) throw new ArgumentException($"{rowScales.Length} row scales for {scores.Length} scores");
        switch (isa)
        {
            case Isa.Avx2: Int8Avx2(ref MemoryMarshal.GetReference(rows), stride, ref MemoryMarshal.GetReference(query), scores); break;
            case Isa.Vector128: Int8V128(ref MemoryMarshal.GetReference(rows), stride, ref MemoryMarshal.GetReference(query), scores); break;
            default: Int8Scalar(rows, stride, query, scores); break;
        }
        // The kernels leave the integer dot products, converted exactly (|dot| < 2^24 for any dimension up to 1040).
        for (int i = 0; i < scores.Length; i++) scores[i] *= rowScales[i] * queryScale;
    }

    private static void Int8Avx2(ref sbyte rows, int stride, ref short query, Span<float> scores)
    {
        // vpmovsxbw widens sixteen row bytes to shorts; vpmaddwd multiplies them with the query's shorts and adds
        // neighbouring pairs into eight ints (at most 2 * 127 * 127, no overflow).
        nuint s = (nuint)stride;
        int i = 0;
        for (; i + RowsPerPass <= scores.Length; i += RowsPerPass)
        {
            ref sbyte r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
            for (nuint j = 0; j < s; j += 16)
            {
                var q = Vector256.LoadUnsafe(ref query, j);
                a0 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref r, j)), q);
                a1 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref r, j + s)), q);
                a2 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref r, j + 2 * s)), q);
                a3 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref r, j + 3 * s)), q);
            }
            scores[i] = Vector256.Sum(a0);
            scores[i + 1] = Vector256.Sum(a1);
            scores[i + 2] = Vector256.Sum(a2);
            scores[i + 3] = Vector256.Sum(a3);
        }
        for (; i < scores.Length; i++)
        {
            ref sbyte r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector256<int> a = default;
            for (nuint j = 0; j < s; j += 16)
                a += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref r, j)), Vector256.LoadUnsafe(ref query, j));
            scores[i] = Vector256.Sum(a);
        }
    }

    private static void Int8V128(ref sbyte rows, int stride, ref short query, Span<float> scores)
    {
        // Portable: widen the bytes to shorts, multiply (products fit a short), widen the products to ints and add.
        nuint s = (nuint)stride;
        int i = 0;
        for (; i + RowsPerPass <= scores.Length; i += RowsPerPass)
        {
            ref sbyte r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
            for (nuint j = 0; j < s; j += 16)
            {
                var q = Vector128.LoadUnsafe(ref query, j);
                var p = Vector128.LoadUnsafe(ref query, j + 8);
                a0 += DotInt8(Vector128.LoadUnsafe(ref r, j), q, p);
                a1 += DotInt8(Vector128.LoadUnsafe(ref r, j + s), q, p);
                a2 += DotInt8(Vector128.LoadUnsafe(ref r, j + 2 * s), q, p);
                a3 += DotInt8(Vector128.LoadUnsafe(ref r, j + 3 * s), q, p);
            }
            scores[i] = Vector128.Sum(a0);
            scores[i + 1] = Vector128.Sum(a1);
            scores[i + 2] = Vector128.Sum(a2);
            scores[i + 3] = Vector128.Sum(a3);
        }
        for (; i < scores.Length; i++)
        {
            ref sbyte r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector128<int> a = default;
            for (nuint j = 0; j < s; j += 16)
                a += DotInt8(Vector128.LoadUnsafe(ref r, j), Vector128.LoadUnsafe(ref query, j), Vector128.LoadUnsafe(ref query, j + 8));
            scores[i] = Vector128.Sum(a);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> DotInt8(Vector128<sbyte> r, Vector128<short> qLow, Vector128<short> qHigh)
    {
        var lo = Vector128.WidenLower(r) * qLow;
        var hi = Vector128.WidenUpper(r) * qHigh;
        return Vector128.WidenLower(lo) + Vector128.WidenUpper(lo) + Vector128.WidenLower(hi) + Vector128.WidenUpper(hi);
    }

    private static void Int8Scalar(ReadOnlySpan<sbyte> rows, int stride, ReadOnlySpan<short> query, Span<float> scores)
    {
        for (int i = 0; i < scores.Length; i++)
        {
            var r = rows.Slice(i * stride, stride);
            int a = 0;
            for (int j = 0; j < stride; j++) a += r[j] * query[j];
            scores[i] = a;
        }
    }

    /// <summary>Once per call, not per row: the kernels below read through unchecked references.</summary>
    private static void Check(int rowsLength, int stride, int queryLength, int rowCount, int elementSize)
    {
        if (stride <= 0 || stride * elementSize % RowAlignment != 0) throw new ArgumentException($"stride {stride} is not a whole number of {RowAlignment}-byte blocks");
        if (queryLength != stride) throw new ArgumentException($"query has {queryLength} elements, the stride is {stride}");
        if (rowsLength != rowCount * stride) throw new ArgumentException($"{rowsLength} row elements for {rowCount} scores of stride {stride}");
    }
}
