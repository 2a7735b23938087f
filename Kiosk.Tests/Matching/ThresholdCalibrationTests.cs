using Kiosk.Vision.Matching;

namespace Kiosk.Tests.Matching;

public sealed class ThresholdCalibrationTests
{
    [Theory]
    [InlineData(0.5, 0.0)]
    [InlineData(0.975, 1.959964)]
    [InlineData(0.999, 3.090232)]
    [InlineData(1e-6, -4.753424)]
    [InlineData(1 - 1e-9, 5.997807)]
    public void The_inverse_normal_matches_tabulated_quantiles(double p, double z)
    {
        Assert.Equal(z, ThresholdCalibration.InverseStandardNormal(p), 5);
    }

    [Fact]
    public void The_threshold_rises_with_the_gallery_and_never_falls_below_the_verification_threshold()
    {
        float t10 = ThresholdCalibration.ForGallery(0.4f, 0.01f, 0.1f, 10, 1e-3);
        float t1000 = ThresholdCalibration.ForGallery(0.4f, 0.01f, 0.1f, 1000, 1e-3);
        float t100k = ThresholdCalibration.ForGallery(0.4f, 0.01f, 0.1f, 100_000, 1e-3);
        Assert.True(t10 < t1000 && t1000 < t100k, $"{t10} {t1000} {t100k}");
        // 1e-3 / 1000 per comparison = 1e-6: z = 4.753 -> 0.01 + 0.4753.
        Assert.Equal(0.4853, t1000, 3);
        Assert.Equal(0.6f, ThresholdCalibration.ForGallery(0.6f, 0.01f, 0.1f, 10, 1e-3)); // floor
        Assert.Equal(0.4f, ThresholdCalibration.ForGallery(0.4f, float.NaN, float.NaN, 1000, 1e-3)); // no calibration: 1:1 value
    }
}
