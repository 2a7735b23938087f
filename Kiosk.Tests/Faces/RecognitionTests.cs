using Kiosk.Host.Cli;
using Kiosk.Vision.Evaluation;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Matching;
using Kiosk.Vision.Models;

namespace Kiosk.Tests.Faces;

[Collection(ModelCollection.Name)]
public sealed class RecognitionTests(PipelineFixture fx) : IClassFixture<PipelineFixture>
{
    private float[] EmbedLargest(string image)
    {
        var faces = fx.Single.Analyze(PipelineFixture.Load(image), largestOnly: true);
        Assert.Single(faces);
        return faces[0].Embedding;
    }

    [Fact]
    public void A_same_person_pair_scores_above_a_different_person_pair_and_across_the_threshold()
    {
        // master.csv: img1/img2 are labelled the same person, img1/img3 different people.
        var labels = PairListReader.Read(Path.Combine(TestPaths.PairsDev, "master.csv"));
        Assert.Contains(labels, p => p is { FileA: "img1.jpg", FileB: "img2.jpg", Same: true });
        Assert.DoesNotContain(labels, p => p.Same && (p.FileA, p.FileB) is ("img1.jpg", "img3.jpg") or ("img3.jpg", "img1.jpg"));

        var a = EmbedLargest("img1.jpg");
        float same = VectorMath.CosineOfUnit(a, EmbedLargest("img2.jpg"));
        float different = VectorMath.CosineOfUnit(a, EmbedLargest("img3.jpg"));

        Assert.True(same > different, $"same {same} should beat different {different}");
        Assert.True(same >= ModelCatalog.Default.Threshold, $"same-person similarity {same} under the threshold");
        Assert.True(different < ModelCatalog.Default.Threshold, $"different-person similarity {different} over the threshold");
    }

    [Fact]
    public void Embeddings_are_unit_vectors_of_the_spec_size()
    {
        var e = EmbedLargest("img1.jpg");
        Assert.Equal(512, e.Length);
        Assert.Equal(1.0, Math.Sqrt(e.Sum(v => (double)v * v)), 4);
    }

    [Fact]
    public void A_mirrored_photo_still_matches_its_original()
    {
        float s = VectorMath.CosineOfUnit(EmbedLargest("img11.jpg"), EmbedLargest("img11_reflection.jpg"));
        Assert.True(s >= ModelCatalog.Default.Threshold, $"mirror similarity {s}");
    }

    [Fact]
    public void Both_faces_of_couple_jpg_are_found_in_either_detection_mode()
    {
        var image = PipelineFixture.Load("couple.jpg");
        foreach (var pipeline in new[] { fx.Single, fx.Multi })
        {
            var faces = pipeline.Analyze(image);
            Assert.Equal(2, faces.Count);
            // One face on each half of the picture.
            Assert.Single(faces, f => f.Detection.Box.Center.X < image.Width / 2f);
            Assert.Single(faces, f => f.Detection.Box.Center.X > image.Width / 2f);
        }
    }

    [Fact]
    public void All_seven_faces_of_the_selfie_are_found_by_multi_scale_detection()
    {
        // Seven people are visible, four of them cut by the frame (RetinaFace also finds 7).
        var image = PipelineFixture.Load("selfie-many-people.jpg");
        var faces = fx.Multi.Analyze(image);
        Assert.Equal(7, faces.Count);
        // Rough centres of the seven faces (600x604 image), read off the picture.
        (float X, float Y)[] expected = [(40, 300), (150, 370), (255, 185), (425, 200), (560, 140), (35, 500), (550, 420)];
        foreach (var (x, y) in expected)
            Assert.Single(faces, f => f.Detection.Box.X1 <= x && x <= f.Detection.Box.X2 && f.Detection.Box.Y1 <= y && y <= f.Detection.Box.Y2);
        // Distinct faces: no two boxes overlap much.
        for (int i = 0; i < faces.Count; i++)
            for (int j = i + 1; j < faces.Count; j++)
                Assert.True(BoxF.IoU(faces[i].Detection.Box, faces[j].Detection.Box) < 0.3f);
    }

    [Fact]
    public void A_tight_face_crop_is_found_by_padding_and_retrying()
    {
        var image = PipelineFixture.Load("img1.jpg");
        var face = fx.Single.Analyze(image, largestOnly: true)[0];
        var box = face.Detection.Box;
        // Crop to the face box itself: no context around the face, as in a cropped data set.
        int x0 = (int)box.X1, y0 = (int)box.Y1, w = (int)box.Width, h = (int)box.Height;
        var crop = new Kiosk.Vision.Imaging.BgrImage(w, h);
        for (int y = 0; y < h; y++) image.Row(y0 + y).Slice(x0 * 3, w * 3).CopyTo(crop.Row(y));

        var noRetry = new FacePipeline(fx.Single.Options with { PadAndRetry = false });
        using (noRetry)
        {
            var direct = noRetry.Analyze(crop);
            var retried = fx.Single.Analyze(crop);
            Assert.NotEmpty(retried);
            // Either the detector copes directly, or the padded retry finds it; the embedding must still match.
            Assert.True(direct.Count > 0 || retried[0].FoundAfterPadding);
            Assert.True(VectorMath.CosineOfUnit(face.Embedding, retried[0].Embedding) > 0.6f);
        }
    }

    [Fact]
    public void Frames_with_no_face_allocate_nothing_once_warm_even_with_the_padded_retry()
    {
        var blank = new Kiosk.Vision.Imaging.BgrImage(640, 480);
        blank.Pixels.Fill(90);
        var found = new List<FaceDetection>();
        for (int i = 0; i < 3; i++) fx.Single.Detect(blank, found);
        Assert.Empty(found);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) fx.Single.Detect(blank, found);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Quality_measures_are_plausible_for_a_frontal_portrait()
    {
        var faces = fx.Single.Analyze(PipelineFixture.Load("img1.jpg"), largestOnly: true);
        var q = faces[0].Quality;
        Assert.True(q.FaceSize > 100, $"face size {q.FaceSize}");
        Assert.True(q.InterocularDistance > 0.2f * q.FaceSize && q.InterocularDistance < 0.7f * q.FaceSize);
        Assert.True(Math.Abs(q.YawDegrees) < 20, $"yaw {q.YawDegrees}");
        Assert.True(q.Sharpness > 10, $"sharpness {q.Sharpness}");
    }

    [Fact]
    public void Eval_pairs_on_the_pivot_file_reaches_the_accuracy_bar_with_no_failures()
    {
        var list = PairListReader.Read(Path.Combine(TestPaths.PairsDev, "face-recognition-pivot.csv"));
        var o = EvalCommand.Run(fx.Single, list, TestPaths.PairsDev, console: null);
        Assert.Equal(280, o.Pairs);
        Assert.Equal(0, o.Failed);
        Assert.True(o.Best.Accuracy >= 0.985, $"accuracy {o.Best.Accuracy}");
        Assert.True(o.Auc >= 0.99, $"AUC {o.Auc}");
    }
}
