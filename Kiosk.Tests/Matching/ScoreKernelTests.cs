using Kiosk.Vision.Matching;

namespace Kiosk.Tests.Matching;

/// <summary>Each kernel variant this machine runs against a plain loop, over several row counts and dimensions.</summary>
public sealed class ScoreKernelTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var isa in Enum.GetValues<ScoreKernels.Isa>())
            if (isa <= ScoreKernels.Best)
                foreach (int dim in new[] { 1, 17, 128, 512, 515 })
                    data.Add(isa.ToString(), dim);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float32_kernel_matches_a_double_precision_dot(string isaName, int dim)
    {
        var isa = Enum.Parse<ScoreKernels.Isa>(isaName);
        var rng = new Random(dim);
        int stride = ScoreKernels.Stride(dim, sizeof(float));
        foreach (int rows in new[] { 1, 3, 4, 7, 13 })
        {
            var data = new float[rows * stride];
            var query = new float[stride];
            for (int i = 0; i < dim; i++) query[i] = Gallery.Gaussian(rng);
            for (int r = 0; r < rows; r++)
                for (int i = 0; i < dim; i++) data[r * stride + i] = Gallery.Gaussian(rng);
            var scores = new float[rows];
            ScoreKernels.Float32(isa, data, stride, query, scores);
            for (int r = 0; r < rows; r++)
            {
                double expected = 0;
                for (int i = 0; i < dim; i++) expected += (double)data[r * stride + i] * query[i];
                Assert.Equal(expected, scores[r], 1e-5 * Math.Sqrt(dim) * 4);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float16_kernel_matches_a_dot_of_the_halves_converted_to_float(string isaName, int dim)
    {
        var isa = Enum.Parse<ScoreKernels.Isa>(isaName);
        var rng = new Random(dim + 1);
        int stride = ScoreKernels.Stride(dim, sizeof(short));
        foreach (int rows in new[] { 1, 4, 6, 13 })
        {
            var data = new short[rows * stride];
            var query = new float[stride];
            var scaled = new float[stride];
            for (int i = 0; i < dim; i++)
            {
                query[i] = Gallery.Gaussian(rng) * 0.05f;
                scaled[i] = query[i] * ScoreKernels.HalfQueryScale;
            }
            for (int r = 0; r < rows; r++)
                for (int i = 0; i < dim; i++)
                {
                    // Normal halves of both signs, over many exponents, and exact zeros (what the index stores).
                    var h = (Half)(Gallery.Gaussian(rng) * MathF.Pow(2, rng.Next(-12, 3)));
                    if (rng.Next(20) == 0 || Half.IsSubnormal(h)) h = rng.Next(2) == 0 ? Half.Zero : Half.NegativeZero;
                    data[r * stride + i] = BitConverter.HalfToInt16Bits(h);
                }
            var scores = new float[rows];
            ScoreKernels.Float16(isa, data, stride, scaled, scores);
            for (int r = 0; r < rows; r++)
            {
                double expected = 0, magnitude = 0;
                for (int i = 0; i < dim; i++)
                {
                    double p = (double)(float)BitConverter.Int16BitsToHalf(data[r * stride + i]) * query[i];
                    expected += p;
                    magnitude += Math.Abs(p);
                }
                Assert.Equal(expected, scores[r], 1e-6 * magnitude + 1e-30);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Int8_kernel_gives_the_exact_integer_dot_times_both_scales(string isaName, int dim)
    {
        var isa = Enum.Parse<ScoreKernels.Isa>(isaName);
        var rng = new Random(dim + 2);
        int stride = ScoreKernels.Stride(dim, sizeof(sbyte));
        foreach (int rows in new[] { 1, 4, 5, 13 })
        {
            var data = new sbyte[rows * stride];
            var scales = new float[rows];
            var query = new sbyte[stride];
            for (int i = 0; i < dim; i++) query[i] = (sbyte)(i % 5 == 0 ? -127 * (i % 2) : rng.Next(-127, 128));
            var magnitudes = query.Select(x => (byte)Math.Abs(x)).ToArray();
            var wide = query.Select(x => (short)x).ToArray();
            for (int r = 0; r < rows; r++)
            {
                scales[r] = 0.001f * (r + 1);
                for (int i = 0; i < dim; i++) data[r * stride + i] = (sbyte)(i % 7 == 0 ? 127 * (r % 2 == 0 ? 1 : -1) : rng.Next(-127, 128));
            }
            var scores = new float[rows];
            ScoreKernels.Int8(isa, data, stride, scales, new ScoreKernels.Int8Query(query, magnitudes, wide, 0.5f), scores);
            for (int r = 0; r < rows; r++)
            {
                long dot = 0;
                for (int i = 0; i < dim; i++) dot += data[r * stride + i] * query[i];
                Assert.Equal((float)dot * (scales[r] * 0.5f), scores[r]);
            }
        }
    }

    [Fact]
    public void Rows_are_padded_to_whole_cache_lines()
    {
        Assert.Equal(16, ScoreKernels.Stride(1, sizeof(float)));
        Assert.Equal(512, ScoreKernels.Stride(512, sizeof(float)));
        Assert.Equal(528, ScoreKernels.Stride(515, sizeof(float)));
        Assert.Equal(544, ScoreKernels.Stride(515, sizeof(short)));
        Assert.Equal(576, ScoreKernels.Stride(515, sizeof(sbyte)));
    }

    [Fact]
    public void A_query_not_padded_to_the_stride_is_refused()
    {
        Assert.Throws<ArgumentException>(() => ScoreKernels.Float32(ScoreKernels.Isa.Scalar, new float[32], 16, new float[15], new float[2]));
        Assert.Throws<ArgumentException>(() => ScoreKernels.Float32(ScoreKernels.Isa.Scalar, new float[32], 16, new float[16], new float[3]));
        Assert.Throws<ArgumentException>(() => ScoreKernels.Float16(ScoreKernels.Isa.Scalar, new short[30], 15, new float[15], new float[2]));
    }
}
