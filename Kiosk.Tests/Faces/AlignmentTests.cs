using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Models;

namespace Kiosk.Tests.Faces;

public sealed class AlignmentTests
{
    private static PointF[] TemplatePixels(EmbedderSpec spec) =>
        spec.Crop.Template!.Select(p => new PointF(p.X * spec.Width, p.Y * spec.Height)).ToArray();

    [Theory]
    [InlineData(0.0, 1.0, 0, 0)]
    [InlineData(25.0, 3.2, 400, 310)]
    [InlineData(-40.0, 0.7, 12, 900)]
    [InlineData(170.0, 5.0, 1000, 1000)]
    public void The_similarity_fit_recovers_an_exact_similarity_transform(double degrees, double scale, double tx, double ty)
    {
        var template = TemplatePixels(ModelCatalog.Default);
        double a = Math.Cos(degrees * Math.PI / 180) * scale, b = Math.Sin(degrees * Math.PI / 180) * scale;
        // Face points = template moved by a known similarity; the fit must map them back onto the template.
        var face = template.Select(p => new PointF((float)(a * p.X - b * p.Y + tx), (float)(b * p.X + a * p.Y + ty))).ToArray();
        var fit = FaceAligner.TemplateTransform(FivePoints.FromSpan(face), ModelCatalog.Default.Crop.Template!, 112, 112);
        for (int i = 0; i < 5; i++)
        {
            var q = fit.Apply(face[i]);
            Assert.True(Math.Abs(q.X - template[i].X) < 0.01 && Math.Abs(q.Y - template[i].Y) < 0.01, $"point {i}: {q} vs {template[i]}");
        }
        Assert.Equal(1 / scale, fit.Scale, 3);
    }

    [Fact]
    public void The_fit_is_least_squares_over_all_five_points_not_three()
    {
        var template = TemplatePixels(ModelCatalog.Default);
        var face = template.Select(p => new PointF(p.X * 2 + 50, p.Y * 2 + 80)).ToArray();
        face[4] = new PointF(face[4].X + 10, face[4].Y); // one noisy mouth corner
        var fit = FaceAligner.TemplateTransform(FivePoints.FromSpan(face), ModelCatalog.Default.Crop.Template!, 112, 112);
        // A 3-point affine would be exact on the eyes and nose; least squares spreads the error over all five.
        float eyeError = Distance(fit.Apply(face[0]), template[0]);
        float mouthError = Distance(fit.Apply(face[4]), template[4]);
        Assert.True(eyeError > 0.05f, $"eye error {eyeError}: the fit ignored the mouth");
        Assert.True(mouthError < 5f, $"mouth error {mouthError}: the fit ignored the mouth corner");
        Assert.True(Math.Abs(fit.B) + Math.Abs(fit.A - fit.E) < 0.05f, "a similarity has no shear: A == E");
    }

    [Theory]
    [InlineData("default")]
    [InlineData("reid-0095")]
    public void Aligning_an_image_puts_its_five_marked_points_on_the_template_within_a_pixel(string model)
    {
        var spec = ModelCatalog.GetEmbedder(model);
        var template = TemplatePixels(spec);
        // A 640x480 image with five bright dots where a tilted, scaled face would have its landmarks.
        const double angle = 17 * Math.PI / 180, scale = 2.6, tx = 230, ty = 95;
        double a = Math.Cos(angle) * scale, b = Math.Sin(angle) * scale;
        var face = template.Select(p => new PointF((float)(a * p.X - b * p.Y + tx), (float)(b * p.X + a * p.Y + ty))).ToArray();
        var image = new BgrImage(640, 480);
        image.Pixels.Clear();
        foreach (var p in face) DrawDot(image, p, radius: 4 * scale);

        var crop = new BgrImage(spec.Width, spec.Height);
        FaceAligner.Align(image, spec.Crop, default, FivePoints.FromSpan(face), crop);

        for (int i = 0; i < 5; i++)
        {
            var found = Centroid(crop, template[i], searchRadius: 8);
            Assert.True(Distance(found, template[i]) < 1f, $"{model} point {i}: dot at {found}, template {template[i]}");
        }
    }

    [Fact]
    public void The_0095_crop_from_0009_landmarks_puts_the_five_points_where_the_model_card_says()
    {
        // face-reidentification-retail-0095 card: the five points' places in the 128x128 crop, as it prints them.
        PointF[] card =
        [
            new(0.31556875f * 128, 0.46157411f * 128), new(0.68262292f * 128, 0.46157411f * 128), new(0.50026250f * 128, 0.64050536f * 128),
            new(0.34947188f * 128, 0.82469196f * 128), new(0.65343646f * 128, 0.82469196f * 128),
        ];
        // A face tilted by 12 degrees at 1.9x in a 640x480 frame; its landmarks as landmarks-regression-retail-0009 would
        // give them: fractions of the face crop it was shown, decoded back to image pixels by OmzOutputs.
        const double angle = 12 * Math.PI / 180, scale = 1.9, tx = 260, ty = 120;
        double a = Math.Cos(angle) * scale, b = Math.Sin(angle) * scale;
        var truth = card.Select(p => new PointF((float)(a * p.X - b * p.Y + tx), (float)(b * p.X + a * p.Y + ty))).ToArray();
        var faceCrop = new BoxF(230, 110, 500, 420);
        float[] output = truth.SelectMany(p => new[] { (p.X - faceCrop.X1) / faceCrop.Width, (p.Y - faceCrop.Y1) / faceCrop.Height }).ToArray();
        Span<PointF> decoded = stackalloc PointF[5];
        OmzOutputs.DecodeLandmarks0009(output, faceCrop, decoded);

        var image = new BgrImage(640, 480);
        image.Pixels.Clear();
        foreach (var p in decoded) DrawDot(image, p, radius: 4 * scale);
        var spec = ModelCatalog.Reid0095;
        var crop = new BgrImage(spec.Width, spec.Height);
        FaceAligner.Align(image, spec.Crop, faceCrop, FivePoints.FromSpan(decoded), crop);
        for (int i = 0; i < 5; i++)
        {
            var found = Centroid(crop, card[i], searchRadius: 8);
            Assert.True(Distance(found, card[i]) < 1f, $"point {i}: dot at {found}, card {card[i]}");
        }
    }

    [Fact]
    public void A_box_crop_with_margin_covers_the_grown_square_box()
    {
        var image = new BgrImage(400, 300);
        image.Pixels.Clear();
        var box = new BoxF(100, 50, 200, 170); // 100 wide, 120 tall -> square side 120, +10% each side -> 144
        DrawDot(image, box.Center, 3);
        var crop = new BgrImage(160, 160);
        var map = FaceAligner.Align(image, CropSpec.Box(0.1f), box, default, crop);
        var c = map.Apply(box.Center);
        Assert.Equal(80, c.X, 0.6);
        Assert.Equal(80, c.Y, 0.6);
        Assert.Equal(160.0 / 144.0, map.Scale, 3);
        Assert.True(Distance(Centroid(crop, new PointF(80, 80), 10), new PointF(80, 80)) < 1f);
    }

    private static void DrawDot(BgrImage img, PointF c, double radius)
    {
        for (int y = (int)(c.Y - radius - 1); y <= (int)(c.Y + radius + 1); y++)
            for (int x = (int)(c.X - radius - 1); x <= (int)(c.X + radius + 1); x++)
            {
                if (x < 0 || y < 0 || x >= img.Width || y >= img.Height) continue;
                // Anti-aliased disc: coverage falls off over one pixel at the rim, so the centroid is exact.
                double d = Math.Sqrt((x - c.X) * (x - c.X) + (y - c.Y) * (y - c.Y));
                double v = Math.Clamp(radius + 0.5 - d, 0, 1) * 255;
                var row = img.Row(y);
                row[x * 3] = row[x * 3 + 1] = row[x * 3 + 2] = (byte)Math.Max(row[x * 3], v);
            }
    }

    private static PointF Centroid(BgrImage img, PointF around, int searchRadius)
    {
        double sx = 0, sy = 0, sw = 0;
        for (int y = (int)around.Y - searchRadius; y <= around.Y + searchRadius; y++)
            for (int x = (int)around.X - searchRadius; x <= around.X + searchRadius; x++)
            {
                if (x < 0 || y < 0 || x >= img.Width || y >= img.Height) continue;
                double w = img.Row(y)[x * 3 + 1];
                sx += w * x; sy += w * y; sw += w;
            }
        Assert.True(sw > 0, $"no dot near {around}");
        return new PointF((float)(sx / sw), (float)(sy / sw));
    }

    private static float Distance(PointF a, PointF b) => MathF.Sqrt((a.X - b.X) * (a.X - b.X) + (a.Y - b.Y) * (a.Y - b.Y));
}
