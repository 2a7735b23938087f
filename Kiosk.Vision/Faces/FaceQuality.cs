using Kiosk.Vision.Imaging;
using Kiosk.Vision.Preprocessing;

namespace Kiosk.Vision.Faces;

/// <summary>
/// Measures for a quality gate. FaceSize: box height in image pixels. InterocularDistance: pixels between the eye
/// centres. Sharpness: variance of the Laplacian of the aligned crop (compare only between crops of one model).
/// YawDegrees: head turn estimated from the five points (0 = frontal, sign = direction), roughly ±10°.
/// </summary>
public readonly record struct FaceQuality(float FaceSize, float InterocularDistance, double Sharpness, float YawDegrees)
{
    /// <summary>Nose depth over inter-ocular distance for an average adult head; turns nose offset into an angle.</summary>
    private const float NoseDepthRatio = 0.55f;

    /// <summary>
    /// One number to rank a person's enrollment photos (0..1, higher is better): sharpness (saturating at 1000),
    /// frontality and size (saturating at 200 px) multiplied.
    /// </summary>
    public float Score =>
        (float)(Math.Min(Sharpness, 1000) / 1000) * MathF.Cos(MathF.Min(MathF.Abs(YawDegrees), 90) * MathF.PI / 180) * MathF.Min(FaceSize / 200f, 1f);

    public static FaceQuality Measure(in BoxF box, in FivePoints p, BgrImage alignedCrop) =>
        new(box.Height, Distance(p.LeftEye, p.RightEye), ImageOps.LaplacianVariance(alignedCrop), EstimateYaw(p));

    /// <summary>
    /// The nose tip's signed distance from the face's mid line (eye centre to mouth centre), over half the eye
    /// distance, is (2·depth/IOD)·tan(yaw) for a rigid head.
    /// </summary>
    public static float EstimateYaw(in FivePoints p)
    {
        var eyes = Mid(p.LeftEye, p.RightEye);
        var mouth = Mid(p.LeftMouth, p.RightMouth);
        float iod = Distance(p.LeftEye, p.RightEye);
        float ax = mouth.X - eyes.X, ay = mouth.Y - eyes.Y;
        float axisLen = MathF.Sqrt(ax * ax + ay * ay);
        if (iod < 1e-3f || axisLen < 1e-3f) return 90f;
        // Signed perpendicular distance of the nose from the eye-mouth axis (positive = nose to the image right).
        float d = ((p.Nose.X - eyes.X) * ay - (p.Nose.Y - eyes.Y) * ax) / axisLen;
        float r = d / (iod / 2);
        return MathF.Atan(-r / (2 * NoseDepthRatio)) * (180f / MathF.PI);
    }

    private static PointF Mid(PointF a, PointF b) => new((a.X + b.X) / 2, (a.Y + b.Y) / 2);
    private static float Distance(PointF a, PointF b) => MathF.Sqrt((a.X - b.X) * (a.X - b.X) + (a.Y - b.Y) * (a.Y - b.Y));
}
