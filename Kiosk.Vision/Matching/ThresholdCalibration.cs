namespace Kiosk.Vision.Matching;

/// <summary>
/// Raises a model's verification threshold for 1:N search. Against N enrolled people a stranger has about N chances
/// to match someone, so a false-match rate per probe of F needs F/N per comparison. The impostor scores of a model
/// (cosine similarity between different people) are modelled as a normal distribution measured on a calibration set;
/// its upper tail gives the threshold for F/N, never lower than the model's 1:1 threshold.
/// </summary>
/// <remarks>
/// Real impostor tails are heavier than normal, so this is a floor to raise further with a site's own data, and a
/// calibration set of a few thousand pairs says little below 1e-4 per comparison.
/// </remarks>
public static class ThresholdCalibration
{
    public static float ForGallery(float verificationThreshold, float impostorMean, float impostorStd, int people, double falseMatchRatePerProbe)
    {
        if (people <= 0 || float.IsNaN(impostorMean) || float.IsNaN(impostorStd) || impostorStd <= 0) return verificationThreshold;
        if (falseMatchRatePerProbe is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(falseMatchRatePerProbe), "a rate in (0, 1)");
        double perComparison = falseMatchRatePerProbe / people;
        double z = InverseStandardNormal(1 - perComparison);
        float t = (float)(impostorMean + z * impostorStd);
        return Math.Clamp(Math.Max(t, verificationThreshold), -1f, 1f);
    }

    private static readonly double[] A = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
    private static readonly double[] B = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
    private static readonly double[] C = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
    private static readonly double[] D = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];

    /// <summary>Inverse of the standard normal CDF (Acklam's rational approximation, relative error below 1.2e-9).</summary>
    public static double InverseStandardNormal(double p)
    {
        double[] a = A, b = B, c = C, d = D;
        if (p is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(p), "p must be in (0, 1)");
        const double low = 0.02425, high = 1 - low;
        if (p < low)
        {
            double q = Math.Sqrt(-2 * Math.Log(p));
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }
        if (p > high)
        {
            double q = Math.Sqrt(-2 * Math.Log(1 - p));
            return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }
        double r = p - 0.5, s = r * r;
        return (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * r / (((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1);
    }
}
