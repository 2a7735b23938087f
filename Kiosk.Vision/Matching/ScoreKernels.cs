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
/// <para>Each kernel walks the rows strictly in order, one row at a time, with four independent accumulators per
/// row. The query (2 KB at 512-d) stays in L1, so reusing a loaded query vector across several rows saves nothing,
/// while interleaving rows splits the one sequential stream into short ones that the hardware prefetcher keeps
/// re-learning: over 100,000 float32 rows of 512-d, four rows per pass took 7.8 ms, one row 5.4 ms, a plain
/// sequential read of the same 205 MB 5.1 ms.</para>
/// <para>The vector kernels are compiled fully optimized at their first call (no tier-0 or on-stack-replacement
/// code), so the first searches after start-up already run at full speed.</para>
/// <para>Three variants each: x86 with AVX2 (256-bit), portable <see cref="Vector128"/> (arm64 NEON, or x86 without
/// AVX2) and scalar. The variants are reachable from the tests, which check each against a plain loop.</para>
/// </remarks>
internal static class ScoreKernels
{
    /// <summary>Row starts and row lengths are multiples of this many bytes (a cache line).</summary>
    public const int RowAlignment = 64;

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

    /// <summary>
    /// The float16 and int8 x86 kernels ask for the cache line this far ahead. They spend more instructions per byte
    /// than a plain read, so fewer loads are in flight and the hardware prefetcher alone falls behind: over 100,000
    /// rows of 512-d, float16 went from 3.15 to 2.55 ms and int8 from 1.50 to 1.07 ms (plain reads 2.3 and 1.03 ms).
    /// Float32 gained nothing (5.3 ms, plain read 5.0 ms) and does without. A prefetch never faults, so running past
    /// the buffer's end is harmless.
    /// </summary>
    private const int PrefetchBytes = 8192;

    /// <summary>Kernel variants, each needing the ones before it. <see cref="AvxVnni"/> changes only the int8 kernel.</summary>
    public enum Isa { Scalar, Vector128, Avx2, AvxVnni }

    /// <summary>The fastest variant this machine runs.</summary>
    public static Isa Best { get; } = Avx2.IsSupported && Fma.IsSupported ? (AvxVnni.IsSupported ? Isa.AvxVnni : Isa.Avx2)
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
            case Isa.Avx2 or Isa.AvxVnni: Float32Avx2(ref MemoryMarshal.GetReference(rows), stride, ref MemoryMarshal.GetReference(query), scores); break;
            case Isa.Vector128: Float32V128(ref MemoryMarshal.GetReference(rows), stride, ref MemoryMarshal.GetReference(query), scores); break;
            default: Float32Scalar(rows, stride, query, scores); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Float32Avx2(ref float rows, int stride, ref float query, Span<float> scores)
    {
        nuint s = (nuint)stride;
        for (int i = 0; i < scores.Length; i++)
        {
            ref float r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            nuint j = 0;
            for (; j + 32 <= s; j += 32)
            {
                a0 = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref r, j), Vector256.LoadUnsafe(ref query, j), a0);
                a1 = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref r, j + 8), Vector256.LoadUnsafe(ref query, j + 8), a1);
                a2 = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref r, j + 16), Vector256.LoadUnsafe(ref query, j + 16), a2);
                a3 = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref r, j + 24), Vector256.LoadUnsafe(ref query, j + 24), a3);
            }
            if (j < s) // an odd 64-byte block
            {
                a0 = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref r, j), Vector256.LoadUnsafe(ref query, j), a0);
                a1 = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref r, j + 8), Vector256.LoadUnsafe(ref query, j + 8), a1);
            }
            scores[i] = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Float32V128(ref float rows, int stride, ref float query, Span<float> scores)
    {
        nuint s = (nuint)stride;
        for (int i = 0; i < scores.Length; i++)
        {
            ref float r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (nuint j = 0; j < s; j += 16)
            {
                a0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref r, j), Vector128.LoadUnsafe(ref query, j), a0);
                a1 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref r, j + 4), Vector128.LoadUnsafe(ref query, j + 4), a1);
                a2 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref r, j + 8), Vector128.LoadUnsafe(ref query, j + 8), a2);
                a3 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref r, j + 12), Vector128.LoadUnsafe(ref query, j + 12), a3);
            }
            scores[i] = Vector128.Sum((a0 + a1) + (a2 + a3));
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
            case Isa.Avx2 or Isa.AvxVnni: Float16Avx2(ref MemoryMarshal.GetReference(rows), stride, ref MemoryMarshal.GetReference(scaledQuery), scores); break;
            case Isa.Vector128: Float16V128(ref MemoryMarshal.GetReference(rows), stride, ref MemoryMarshal.GetReference(scaledQuery), scores); break;
            default: Float16Scalar(rows, stride, scaledQuery, scores); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> HalfBits(Vector256<int> sx) =>
        Avx2.And(Avx2.ShiftLeftLogical(sx, 13), Vector256.Create(HalfBitsMask)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Float16Avx2(ref short rows, int stride, ref float query, Span<float> scores)
    {
        // vpmovsxwd with a memory operand loads and widens eight halves in one instruction.
        nuint s = (nuint)stride;
        for (int i = 0; i < scores.Length; i++)
        {
            ref short r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (nuint j = 0; j < s; j += 32)
            {
                // A hint only: should the GC move an unpinned buffer meanwhile, some other line gets fetched.
                Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref r, j + PrefetchBytes / sizeof(short))));
                a0 = Fma.MultiplyAdd(HalfBits(Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref r, j))), Vector256.LoadUnsafe(ref query, j), a0);
                a1 = Fma.MultiplyAdd(HalfBits(Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref r, j + 8))), Vector256.LoadUnsafe(ref query, j + 8), a1);
                a2 = Fma.MultiplyAdd(HalfBits(Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref r, j + 16))), Vector256.LoadUnsafe(ref query, j + 16), a2);
                a3 = Fma.MultiplyAdd(HalfBits(Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref r, j + 24))), Vector256.LoadUnsafe(ref query, j + 24), a3);
            }
            scores[i] = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> HalfBits(Vector128<int> sx) =>
        Vector128.BitwiseAnd(Vector128.ShiftLeft(sx, 13), Vector128.Create(HalfBitsMask)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Float16V128(ref short rows, int stride, ref float query, Span<float> scores)
    {
        nuint s = (nuint)stride;
        for (int i = 0; i < scores.Length; i++)
        {
            ref short r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (nuint j = 0; j < s; j += 16)
            {
                var h0 = Vector128.LoadUnsafe(ref r, j);
                var h1 = Vector128.LoadUnsafe(ref r, j + 8);
                a0 = Vector128.MultiplyAddEstimate(HalfBits(Vector128.WidenLower(h0)), Vector128.LoadUnsafe(ref query, j), a0);
                a1 = Vector128.MultiplyAddEstimate(HalfBits(Vector128.WidenUpper(h0)), Vector128.LoadUnsafe(ref query, j + 4), a1);
                a2 = Vector128.MultiplyAddEstimate(HalfBits(Vector128.WidenLower(h1)), Vector128.LoadUnsafe(ref query, j + 8), a2);
                a3 = Vector128.MultiplyAddEstimate(HalfBits(Vector128.WidenUpper(h1)), Vector128.LoadUnsafe(ref query, j + 12), a3);
            }
            scores[i] = Vector128.Sum((a0 + a1) + (a2 + a3));
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
    /// scores[i] = (rows[i] . query) * rowScales[i] * query.Scale, the dot product in exact integer arithmetic.
    /// </summary>
    public static void Int8(Isa isa, ReadOnlySpan<sbyte> rows, int stride, ReadOnlySpan<float> rowScales, in Int8Query query, Span<float> scores)
    {
        Check(rows.Length, stride, query.Values.Length, scores.Length, elementSize: sizeof(sbyte));
        if (query.Magnitudes.Length != stride || query.Wide.Length != stride) throw new ArgumentException("the query's forms differ in length");
        if (rowScales.Length != scores.Length) throw new ArgumentException($"{rowScales.Length} row scales for {scores.Length} scores");
        switch (isa)
        {
            case Isa.Avx2 or Isa.AvxVnni:
                Int8Avx2(ref MemoryMarshal.GetReference(rows), stride, ref MemoryMarshal.GetReference(query.Values),
                    ref MemoryMarshal.GetReference(query.Magnitudes), scores, vnni: isa == Isa.AvxVnni);
                break;
            case Isa.Vector128: Int8V128(ref MemoryMarshal.GetReference(rows), stride, ref MemoryMarshal.GetReference(query.Wide), scores); break;
            default: Int8Scalar(rows, stride, query.Values, scores); break;
        }
        // The kernels leave the integer dot products, converted exactly (|dot| < 2^24 up to 1040 dimensions).
        for (int i = 0; i < scores.Length; i++) scores[i] *= rowScales[i] * query.Scale;
    }

    /// <summary>
    /// An int8-quantized query in the forms the kernels want, prepared once per search: its values, their
    /// magnitudes (x86: an unsigned operand) and the values widened to shorts (portable kernel).
    /// </summary>
    public readonly ref struct Int8Query(ReadOnlySpan<sbyte> values, ReadOnlySpan<byte> magnitudes, ReadOnlySpan<short> wide, float scale)
    {
        public ReadOnlySpan<sbyte> Values { get; } = values;
        public ReadOnlySpan<byte> Magnitudes { get; } = magnitudes;
        public ReadOnlySpan<short> Wide { get; } = wide;

        /// <summary>Query value = integer value * Scale.</summary>
        public float Scale { get; } = scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Int8Avx2(ref sbyte rows, int stride, ref sbyte query, ref byte magnitudes, Span<float> scores, bool vnni)
    {
        // x86 multiplies bytes only as unsigned x signed: |q| x (r with q's sign) = q x r. vpmaddubsw sums pairs into
        // shorts (at most 2 * 127 * 127, no saturation: rows and query stay within +-127), vpmaddwd by ones sums those
        // into ints; AVX-VNNI's vpdpbusd (Intel since Alder Lake, AMD since Zen 5) does both and the add at once.
        // Widening the rows to shorts instead (vpmovsxbw + vpmaddwd) could not keep up with memory: over 100,000
        // rows of 512-d it took 3.5 ms, this 2.3 ms, with VNNI 1.5 ms.
        nuint s = (nuint)stride;
        var ones = Vector256.Create((short)1);
        for (int i = 0; i < scores.Length; i++)
        {
            ref sbyte r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector256<int> a0 = default, a1 = default;
            if (vnni)
            {
                for (nuint j = 0; j < s; j += 64)
                {
                    Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref r, j + PrefetchBytes)));
                    a0 = AvxVnni.MultiplyWideningAndAdd(a0, Vector256.LoadUnsafe(ref magnitudes, j),
                        Avx2.Sign(Vector256.LoadUnsafe(ref r, j), Vector256.LoadUnsafe(ref query, j)));
                    a1 = AvxVnni.MultiplyWideningAndAdd(a1, Vector256.LoadUnsafe(ref magnitudes, j + 32),
                        Avx2.Sign(Vector256.LoadUnsafe(ref r, j + 32), Vector256.LoadUnsafe(ref query, j + 32)));
                }
            }
            else
            {
                for (nuint j = 0; j < s; j += 64)
                {
                    Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref r, j + PrefetchBytes)));
                    a0 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref magnitudes, j),
                        Avx2.Sign(Vector256.LoadUnsafe(ref r, j), Vector256.LoadUnsafe(ref query, j))), ones);
                    a1 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref magnitudes, j + 32),
                        Avx2.Sign(Vector256.LoadUnsafe(ref r, j + 32), Vector256.LoadUnsafe(ref query, j + 32))), ones);
                }
            }
            scores[i] = Vector256.Sum(a0 + a1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Int8V128(ref sbyte rows, int stride, ref short query, Span<float> scores)
    {
        // Portable: widen the bytes to shorts, multiply (products fit a short), widen the products to ints and add.
        nuint s = (nuint)stride;
        for (int i = 0; i < scores.Length; i++)
        {
            ref sbyte r = ref Unsafe.Add(ref rows, (nint)i * stride);
            Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
            for (nuint j = 0; j < s; j += 64)
            {
                a0 += DotInt8(Vector128.LoadUnsafe(ref r, j), Vector128.LoadUnsafe(ref query, j), Vector128.LoadUnsafe(ref query, j + 8));
                a1 += DotInt8(Vector128.LoadUnsafe(ref r, j + 16), Vector128.LoadUnsafe(ref query, j + 16), Vector128.LoadUnsafe(ref query, j + 24));
                a2 += DotInt8(Vector128.LoadUnsafe(ref r, j + 32), Vector128.LoadUnsafe(ref query, j + 32), Vector128.LoadUnsafe(ref query, j + 40));
                a3 += DotInt8(Vector128.LoadUnsafe(ref r, j + 48), Vector128.LoadUnsafe(ref query, j + 48), Vector128.LoadUnsafe(ref query, j + 56));
            }
            scores[i] = Vector128.Sum((a0 + a1) + (a2 + a3));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> DotInt8(Vector128<sbyte> r, Vector128<short> qLow, Vector128<short> qHigh)
    {
        var lo = Vector128.WidenLower(r) * qLow;
        var hi = Vector128.WidenUpper(r) * qHigh;
        return (Vector128.WidenLower(lo) + Vector128.WidenUpper(lo)) + (Vector128.WidenLower(hi) + Vector128.WidenUpper(hi));
    }

    private static void Int8Scalar(ReadOnlySpan<sbyte> rows, int stride, ReadOnlySpan<sbyte> query, Span<float> scores)
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
