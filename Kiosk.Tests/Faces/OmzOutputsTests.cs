using Kiosk.Vision.Faces;

namespace Kiosk.Tests.Faces;

/// <summary>The Open Model Zoo face models' outputs decoded from hand-built tensors with known answers.</summary>
public sealed class OmzOutputsTests
{
    [Fact]
    public void Ssd_rows_become_faces_in_image_pixels_best_first_clipped_and_only_up_to_the_end_marker()
    {
        float[] output =
        [
            0, 1, 0.90f, 0.10f, 0.20f, 0.30f, 0.50f,      // a face: (64,96)-(192,240) in 640x480
            0, 1, 0.95f, 0.50f, 0.50f, 1.20f, 0.90f,      // a better one, its right edge beyond the image: clipped to 640
            0, 0, 0.99f, 0.10f, 0.10f, 0.20f, 0.20f,      // label 0 (background), whatever its score
            0, 1, 0.30f, 0.60f, 0.10f, 0.70f, 0.20f,      // below the threshold
            0, 1, float.NaN, 0.1f, 0.1f, 0.2f, 0.2f,       // a NaN score
            0, 1, 0.80f, 0.40f, float.PositiveInfinity, 0.5f, 0.6f, // a non-finite corner
            0, 1, 0.80f, 0.40f, 0.40f, 0.40f, 0.60f,      // zero width
            -1, 0, 0, 0, 0, 0, 0,                           // the end of the valid rows
            0, 1, 0.99f, 0.10f, 0.10f, 0.20f, 0.20f,      // padding after the end: never read
        ];
        var faces = new List<FaceDetection> { new(new BoxF(1, 1, 2, 2), 0.1f) }; // appended to, not replaced
        OmzOutputs.DecodeSsd(output, 640, 480, minScore: 0.5f, faces);

        Assert.Equal(3, faces.Count);
        Assert.Equal(new FaceDetection(new BoxF(1, 1, 2, 2), 0.1f), faces[0]);
        Assert.Equal(0.95f, faces[1].Score);
        AssertBox(new BoxF(320, 240, 640, 432), faces[1].Box);
        Assert.Equal(0.90f, faces[2].Score);
        AssertBox(new BoxF(64, 96, 192, 240), faces[2].Box);
    }

    [Fact]
    public void Ssd_corners_scale_by_the_input_size_in_image_pixels_when_the_frame_was_letterboxed()
    {
        // A 640x360 frame fitted into a square input at its top-left: the input spans 640x640 image pixels.
        float[] output = [0, 1, 0.9f, 0.25f, 0.25f, 0.50f, 0.75f, -1, 0, 0, 0, 0, 0, 0];
        var faces = new List<FaceDetection>();
        OmzOutputs.DecodeSsd(output, scaleX: 640, scaleY: 640, imageWidth: 640, imageHeight: 360, minScore: 0.5f, faces);
        AssertBox(new BoxF(160, 160, 320, 360), Assert.Single(faces).Box); // y2 = 480 is in the padding: clipped to 360
    }

    [Fact]
    public void Ssd_output_that_is_not_whole_rows_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => OmzOutputs.DecodeSsd(new float[13], 640, 480, 0.5f, []));
        Assert.Contains("7 values per row", e.Message);
    }

    [Fact]
    public void Landmarks_0009_are_placed_in_the_face_crop_they_were_computed_on()
    {
        // The crop given to the model: a 96x96 box at (100,50). Normalized outputs for eyes, nose, mouth corners.
        float[] output = [0.25f, 0.40f, 0.75f, 0.40f, 0.50f, 0.60f, 0.30f, 0.80f, 0.70f, 0.80f];
        Span<PointF> points = stackalloc PointF[5];
        OmzOutputs.DecodeLandmarks0009(output, new BoxF(100, 50, 196, 146), points);
        PointF[] expected = [new(124, 88.4f), new(172, 88.4f), new(148, 107.6f), new(128.8f, 126.8f), new(167.2f, 126.8f)];
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(expected[i].X, points[i].X, 3);
            Assert.Equal(expected[i].Y, points[i].Y, 3);
        }
        // A non-square crop scales x and y apart.
        OmzOutputs.DecodeLandmarks0009(output, new BoxF(0, 0, 200, 100), points);
        Assert.Equal((50f, 40f), (points[0].X, points[0].Y));
    }

    [Fact]
    public void Landmark_outputs_of_the_wrong_size_or_not_finite_are_refused()
    {
        var points = new PointF[5];
        Assert.Contains("10 values", Assert.Throws<ArgumentException>(() => OmzOutputs.DecodeLandmarks0009(new float[136], new BoxF(0, 0, 1, 1), points)).Message);
        float[] nan = [0.2f, 0.2f, float.NaN, 0.2f, 0.5f, 0.5f, 0.3f, 0.8f, 0.7f, 0.8f];
        Assert.Contains("value 2", Assert.Throws<ArgumentException>(() => OmzOutputs.DecodeLandmarks0009(nan, new BoxF(0, 0, 1, 1), points)).Message);
    }

    private static void AssertBox(BoxF expected, BoxF actual)
    {
        Assert.Equal(expected.X1, actual.X1, 3);
        Assert.Equal(expected.Y1, actual.Y1, 3);
        Assert.Equal(expected.X2, actual.X2, 3);
        Assert.Equal(expected.Y2, actual.Y2, 3);
    }
}
