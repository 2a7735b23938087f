using System.Runtime.InteropServices;

namespace Kiosk.Vision.Faces;

/// <summary>A point in image pixels (x right, y down).</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct PointF(float X, float Y);

/// <summary>An axis-aligned box in image pixels, corners inclusive-exclusive in the usual float sense.</summary>
public readonly record struct BoxF(float X1, float Y1, float X2, float Y2)
{
    public float Width => X2 - X1;
    public float Height => Y2 - Y1;
    public float Area => MathF.Max(0, Width) * MathF.Max(0, Height);
    public PointF Center => new((X1 + X2) * 0.5f, (Y1 + Y2) * 0.5f);

    public static float IoU(in BoxF a, in BoxF b)
    {
        float w = MathF.Min(a.X2, b.X2) - MathF.Max(a.X1, b.X1);
        float h = MathF.Min(a.Y2, b.Y2) - MathF.Max(a.Y1, b.Y1);
        if (w <= 0 || h <= 0) return 0;
        float inter = w * h;
        return inter / (a.Area + b.Area - inter);
    }

    public BoxF Offset(float dx, float dy) => new(X1 + dx, Y1 + dy, X2 + dx, Y2 + dy);
}

/// <summary>
/// The five alignment points, in the order every template here uses: left eye, right eye, nose tip,
/// left mouth corner, right mouth corner ("left" as seen in the image).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct FivePoints
{
    public PointF LeftEye, RightEye, Nose, LeftMouth, RightMouth;

    public FivePoints(PointF leftEye, PointF rightEye, PointF nose, PointF leftMouth, PointF rightMouth)
    {
        LeftEye = leftEye; RightEye = rightEye; Nose = nose; LeftMouth = leftMouth; RightMouth = rightMouth;
    }

    public static FivePoints FromSpan(ReadOnlySpan<PointF> p)
    {
        if (p.Length != 5) throw new ArgumentException("exactly five points are needed", nameof(p));
        return new FivePoints(p[0], p[1], p[2], p[3], p[4]);
    }

    public readonly PointF this[int i] => i switch
    {
        0 => LeftEye, 1 => RightEye, 2 => Nose, 3 => LeftMouth, 4 => RightMouth,
        _ => throw new ArgumentOutOfRangeException(nameof(i)),
    };

    public readonly PointF[] ToArray() => [LeftEye, RightEye, Nose, LeftMouth, RightMouth];

    public readonly FivePoints Offset(float dx, float dy) => new(
        new(LeftEye.X + dx, LeftEye.Y + dy), new(RightEye.X + dx, RightEye.Y + dy), new(Nose.X + dx, Nose.Y + dy),
        new(LeftMouth.X + dx, LeftMouth.Y + dy), new(RightMouth.X + dx, RightMouth.Y + dy));

    public readonly FivePoints Scale(float sx, float sy) => new(
        new(LeftEye.X * sx, LeftEye.Y * sy), new(RightEye.X * sx, RightEye.Y * sy), new(Nose.X * sx, Nose.Y * sy),
        new(LeftMouth.X * sx, LeftMouth.Y * sy), new(RightMouth.X * sx, RightMouth.Y * sy));
}

/// <summary>
/// A 2x3 affine map  x' = A*x + B*y + C,  y' = D*x + E*y + F.
/// </summary>
public readonly record struct Affine2D(float A, float B, float C, float D, float E, float F)
{
    public static Affine2D Identity => new(1, 0, 0, 0, 1, 0);

    public PointF Apply(PointF p) => new(A * p.X + B * p.Y + C, D * p.X + E * p.Y + F);

    /// <summary>Uniform scale of a similarity transform (sqrt of the determinant's magnitude).</summary>
    public float Scale => MathF.Sqrt(MathF.Abs(A * E - B * D));

    public Affine2D Invert()
    {
        double det = (double)A * E - (double)B * D;
        if (Math.Abs(det) < 1e-12) throw new InvalidOperationException("transform is singular");
        double ia = E / det, ib = -B / det, id = -D / det, ie = A / det;
        double ic = -(ia * C + ib * F), iff = -(id * C + ie * F);
        return new((float)ia, (float)ib, (float)ic, (float)id, (float)ie, (float)iff);
    }

    /// <summary>
    /// Least-squares similarity transform (rotation, uniform scale, translation; no reflection or shear)
    /// taking <paramref name="src"/> onto <paramref name="dst"/> (Umeyama 1991). Over all points, not three.
    /// </summary>
    public static Affine2D EstimateSimilarity(ReadOnlySpan<PointF> src, ReadOnlySpan<PointF> dst)
    {
        if (src.Length != dst.Length || src.Length < 2)
            throw new ArgumentException("need at least two point pairs of equal count");
        int n = src.Length;
        double sx = 0, sy = 0, dx = 0, dy = 0;
        for (int i = 0; i < n; i++) { sx += src[i].X; sy += src[i].Y; dx += dst[i].X; dy += dst[i].Y; }
        sx /= n; sy /= n; dx /= n; dy /= n;

        // With complex numbers z = x + iy the best similarity is dst ≈ a*src + t, a = Σ conj(s)·d / Σ |s|².
        double num_re = 0, num_im = 0, den = 0;
        for (int i = 0; i < n; i++)
        {
            double px = src[i].X - sx, py = src[i].Y - sy;
            double qx = dst[i].X - dx, qy = dst[i].Y - dy;
            num_re += px * qx + py * qy;
            num_im += px * qy - py * qx;
            den += px * px + py * py;
        }
        if (den < 1e-12) throw new ArgumentException("source points are degenerate (all at one place)");
        double a = num_re / den, b = num_im / den; // x' = a x - b y + tx ; y' = b x + a y + ty
        double tx = dx - (a * sx - b * sy);
        double ty = dy - (b * sx + a * sy);
        return new((float)a, (float)-b, (float)tx, (float)b, (float)a, (float)ty);
    }
}
