using Kiosk.Vision.Imaging;
using Kiosk.Vision.Models;
using Kiosk.Vision.Preprocessing;

namespace Kiosk.Vision.Faces;

/// <summary>
/// The face kept from an enrollment photo so that another model can embed it later without the photo: the face
/// warped upright onto the 112x112 five-point template placed in the middle of a 192x192 square (40 px of context on
/// every side, enough for box-crop models), as a JPEG of a few KB, with the five points and the face box mapped
/// into it. Any embedder spec aligns from it as from a photo.
/// </summary>
public sealed record CanonicalCrop(byte[] Jpeg, FivePoints Points, BoxF Box)
{
    public const int Size = 192;
    private const float Offset = (Size - 112) / 2f;
    private const int JpegQuality = 90;

    private static readonly PointF[] Template = ModelCatalog.Template112
        .Select(p => new PointF((p.X + Offset) / Size, (p.Y + Offset) / Size)).ToArray();

    /// <summary>Cuts the canonical crop of a face out of an image.</summary>
    public static CanonicalCrop From(BgrImage image, in BoxF box, in FivePoints points)
    {
        var toCrop = FaceAligner.TemplateTransform(points, Template, Size, Size);
        var crop = new BgrImage(Size, Size);
        ImageOps.WarpAffine(image, toCrop.Invert(), crop, BorderMode.Constant);
        var c = new[] { toCrop.Apply(new(box.X1, box.Y1)), toCrop.Apply(new(box.X2, box.Y1)), toCrop.Apply(new(box.X1, box.Y2)), toCrop.Apply(new(box.X2, box.Y2)) };
        var mappedBox = new BoxF(c.Min(p => p.X), c.Min(p => p.Y), c.Max(p => p.X), c.Max(p => p.Y));
        var mapped = new FivePoints(toCrop.Apply(points.LeftEye), toCrop.Apply(points.RightEye), toCrop.Apply(points.Nose),
            toCrop.Apply(points.LeftMouth), toCrop.Apply(points.RightMouth));
        return new CanonicalCrop(ImageEncoder.EncodeJpeg(crop, JpegQuality), mapped, mappedBox);
    }

    public float[] PointsArray() => Points.ToArray().SelectMany(p => new[] { p.X, p.Y }).ToArray();
    public float[] BoxArray() => [Box.X1, Box.Y1, Box.X2, Box.Y2];

    public static CanonicalCrop FromArrays(byte[] jpeg, float[] points, float[] box)
    {
        if (points.Length != 10 || box.Length != 4) throw new ArgumentException("a canonical crop has 5 points (10 floats) and a box (4 floats)");
        return new CanonicalCrop(jpeg, new FivePoints(new(points[0], points[1]), new(points[2], points[3]), new(points[4], points[5]),
            new(points[6], points[7]), new(points[8], points[9])), new BoxF(box[0], box[1], box[2], box[3]));
    }

    /// <summary>Embeds the kept face with <paramref name="embedder"/>'s spec into <paramref name="embedding"/>.</summary>
    public void Embed(FaceEmbedder embedder, Span<float> embedding)
    {
        var image = ImageDecoder.Decode(Jpeg, "stored face crop");
        embedder.Align(image, Box, Points);
        embedder.EmbedCrop(embedding);
    }
}
