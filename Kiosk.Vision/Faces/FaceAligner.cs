using Kiosk.Vision.Imaging;
using Kiosk.Vision.Models;
using Kiosk.Vision.Preprocessing;

namespace Kiosk.Vision.Faces;

/// <summary>Cuts a face out of a frame the way an embedder spec asks: template warp or box crop with margin.</summary>
public static class FaceAligner
{
    /// <summary>
    /// The similarity transform (image -> crop) that puts the five points on the template, least squares over
    /// all five. Template points are in [0,1] and scaled to the crop size.
    /// </summary>
    public static Affine2D TemplateTransform(in FivePoints points, ReadOnlySpan<PointF> normalizedTemplate, int width, int height)
    {
        Span<PointF> src = stackalloc PointF[5];
        Span<PointF> dst = stackalloc PointF[5];
        for (int i = 0; i < 5; i++)
        {
            src[i] = points[i];
            dst[i] = new PointF(normalizedTemplate[i].X * width, normalizedTemplate[i].Y * height);
        }
        return Affine2D.EstimateSimilarity(src, dst);
    }

    /// <summary>The map image -> crop for a square box crop grown by <paramref name="margin"/> of its side on each side.</summary>
    public static Affine2D BoxTransform(in BoxF box, float margin, int width, int height)
    {
        float side = MathF.Max(box.Width, box.Height) * (1 + 2 * margin);
        var c = box.Center;
        float x0 = c.X - side / 2, y0 = c.Y - side / 2;
        // crop pixel (u,v) <- image (x0 + (u+0.5)*side/width - 0.5, ...): invert RectToGrid.
        return ImageOps.RectToGrid(x0, y0, side, side, width, height).Invert();
    }

    /// <summary>The image -> crop transform for a face under <paramref name="crop"/>.</summary>
    public static Affine2D Transform(CropSpec crop, in BoxF box, in FivePoints points, int width, int height) => crop.Kind switch
    {
        CropKind.Template => TemplateTransform(points, crop.Template ?? throw new ArgumentException("template crop without a template"), width, height),
        CropKind.BoxMargin => BoxTransform(box, crop.Margin, width, height),
        _ => throw new ArgumentOutOfRangeException(nameof(crop)),
    };

    /// <summary>Warps the face into <paramref name="crop"/> (its size is the output size); returns image -> crop.</summary>
    public static Affine2D Align(BgrImage image, CropSpec spec, in BoxF box, in FivePoints points, BgrImage crop)
    {
        var toCrop = Transform(spec, box, points, crop.Width, crop.Height);
        ImageOps.WarpAffine(image, toCrop.Invert(), crop, BorderMode.Constant);
        return toCrop;
    }
}
