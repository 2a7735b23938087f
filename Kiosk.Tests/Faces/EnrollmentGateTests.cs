using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Matching;
using Kiosk.Vision.Preprocessing;

namespace Kiosk.Tests.Faces;

[Collection(ModelCollection.Name)]
public sealed class EnrollmentGateTests(PipelineFixture fx) : IClassFixture<PipelineFixture>
{
    private readonly FaceQualityPolicy _policy = new();

    private GateVerdict Check(BgrImage image) => EnrollmentGate.Check(fx.Single.Analyze(image), _policy);

    [Fact]
    public void A_sharp_frontal_portrait_passes()
    {
        var v = Check(PipelineFixture.Load("img1.jpg"));
        Assert.True(v.Accepted, v.Rejection);
    }

    [Fact]
    public void Two_people_of_similar_size_are_refused_as_ambiguous()
    {
        var v = Check(PipelineFixture.Load("couple.jpg"));
        Assert.False(v.Accepted);
        Assert.Contains("2 faces", v.Rejection);
    }

    [Fact]
    public void A_photo_without_a_face_is_refused()
    {
        var blank = new BgrImage(320, 240);
        blank.Pixels.Fill(128);
        Assert.Equal("no face found", Check(blank).Rejection);
    }

    [Fact]
    public void A_blurred_photo_is_refused_for_sharpness()
    {
        var sharp = PipelineFixture.Load("img1.jpg");
        // Halve five times (each an exact 2x2 average, no aliasing) and scale back up: the face (about 800 px tall)
        // stays findable, its detail is gone.
        var small = sharp;
        for (int i = 0; i < 5; i++)
        {
            var half = new BgrImage(small.Width / 2, small.Height / 2);
            ImageOps.WarpAffine(small, ImageOps.RectToGrid(0, 0, half.Width * 2, half.Height * 2, half.Width, half.Height), half, BorderMode.Replicate);
            small = half;
        }
        var blurred = new BgrImage(sharp.Width, sharp.Height);
        ImageOps.WarpAffine(small, ImageOps.RectToGrid(0, 0, small.Width, small.Height, sharp.Width, sharp.Height), blurred, BorderMode.Replicate);
        var v = Check(blurred);
        Assert.False(v.Accepted);
        Assert.True(v.Rejection!.Contains("blurred"), v.Rejection);
    }

    [Fact]
    public void A_face_smaller_than_the_minimum_is_refused_for_size()
    {
        var v = EnrollmentGate.Check(fx.Single.Analyze(PipelineFixture.Load("img1.jpg")), _policy with { MinFaceSize = 4000 });
        Assert.Contains("too small", v.Rejection);
    }

    [Fact]
    public void A_turned_head_is_refused_for_yaw()
    {
        var v = EnrollmentGate.Check(fx.Single.Analyze(PipelineFixture.Load("img1.jpg")), _policy with { MaxYawDegrees = 0.01f });
        Assert.Contains("head turned", v.Rejection);
    }

    [Fact]
    public void A_stored_canonical_crop_re_embeds_to_nearly_the_same_vector()
    {
        var image = PipelineFixture.Load("img2.jpg");
        var face = fx.Single.Analyze(image, largestOnly: true)[0];
        var crop = CanonicalCrop.From(image, face.Detection.Box, face.Points);
        Assert.InRange(crop.Jpeg.Length, 2_000, 30_000); // a few KB
        var again = CanonicalCrop.FromArrays(crop.Jpeg, crop.PointsArray(), crop.BoxArray());
        var v = new float[fx.Single.Embedder.Dimension];
        again.Embed(fx.Single.Embedder, v);
        float s = VectorMath.CosineOfUnit(face.Embedding, v);
        Assert.True(s > 0.9f, $"re-embedded similarity {s}");
    }
}
