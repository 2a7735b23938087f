using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Models;
using Kiosk.Vision.Preprocessing;

namespace Kiosk.Tests.Faces;

public sealed class ImageOpsTests
{
    private static BgrImage Random(int w, int h, int seed)
    {
        var img = new BgrImage(w, h);
        new Random(seed).NextBytes(img.Pixels);
        return img;
    }

    [Fact]
    public void Halving_with_linear_resize_averages_each_two_by_two_block()
    {
        var src = Random(8, 6, 1);
        var tensor = new float[4 * 3 * 3];
        ImageOps.ResizeToTensor(src, new ImageOps.ResizeTables(8, 4), new ImageOps.ResizeTables(6, 3), tensor,
            ChannelOrder.Bgr, Normalization.Raw);
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 4; x++)
                for (int c = 0; c < 3; c++)
                {
                    double mean = (src.Row(2 * y)[6 * x + c] + src.Row(2 * y)[6 * x + 3 + c] + src.Row(2 * y + 1)[6 * x + c] + src.Row(2 * y + 1)[6 * x + 3 + c]) / 4.0;
                    Assert.Equal(mean, tensor[c * 12 + y * 4 + x], 3);
                }
    }

    [Fact]
    public void To_tensor_applies_channel_order_layout_and_mean_scale()
    {
        var img = new BgrImage(2, 1);
        img.Pixels[0] = 10; img.Pixels[1] = 20; img.Pixels[2] = 30;   // B G R of pixel 0
        img.Pixels[3] = 40; img.Pixels[4] = 50; img.Pixels[5] = 60;
        var t = new float[6];
        ImageOps.ToTensor(img, t, TensorLayout.Nchw, ChannelOrder.Rgb, Normalization.MeanScaleAll(127, 1 / 128f));
        Assert.Equal([(30 - 127) / 128f, (60 - 127) / 128f, (20 - 127) / 128f, (50 - 127) / 128f, (10 - 127) / 128f, (40 - 127) / 128f], t);
        ImageOps.ToTensor(img, t, TensorLayout.Nhwc, ChannelOrder.Bgr, Normalization.Raw);
        Assert.Equal([10f, 20, 30, 40, 50, 60], t);
    }

    [Fact]
    public void Per_image_standardization_gives_zero_mean_and_unit_deviation()
    {
        var img = Random(16, 16, 3);
        var t = new float[16 * 16 * 3];
        ImageOps.ToTensor(img, t, TensorLayout.Nchw, ChannelOrder.Rgb, Normalization.Standardize);
        double mean = t.Average(v => (double)v);
        double std = Math.Sqrt(t.Average(v => (v - mean) * (v - mean)));
        Assert.Equal(0, mean, 4);
        Assert.Equal(1, std, 3);
    }

    [Fact]
    public void Warping_with_the_identity_copies_the_image()
    {
        var src = Random(20, 10, 5);
        var dst = new BgrImage(20, 10);
        ImageOps.WarpAffine(src, Affine2D.Identity, dst);
        Assert.Equal(src.Pixels.ToArray(), dst.Pixels.ToArray());
    }

    [Fact]
    public void Pixels_outside_the_source_are_black_with_a_constant_border()
    {
        var src = new BgrImage(4, 4);
        src.Pixels.Fill(200);
        var dst = new BgrImage(4, 4);
        ImageOps.WarpAffine(src, new Affine2D(1, 0, 10, 0, 1, 0), dst, BorderMode.Constant);
        Assert.All(dst.Pixels.ToArray(), v => Assert.Equal(0, v));
        ImageOps.WarpAffine(src, new Affine2D(1, 0, 10, 0, 1, 0), dst, BorderMode.Replicate);
        Assert.All(dst.Pixels.ToArray(), v => Assert.Equal(200, v));
    }

    [Fact]
    public void Overlapping_detections_merge_to_the_best_and_parts_give_way_to_whole_faces()
    {
        var boxes = new List<FaceDetection>
        {
            new(new BoxF(0, 0, 100, 100), 0.9f),
            new(new BoxF(5, 5, 105, 105), 0.95f),   // same face, better score
            new(new BoxF(10, 10, 50, 50), 0.99f),   // a part of that face, found with a higher score
            new(new BoxF(300, 300, 400, 400), 0.7f),
            new(new BoxF(390, 300, 490, 400), 0.8f), // a neighbour touching it: stays
        };
        FacePipeline.MergeOverlapping(boxes, 0.4f);
        Assert.Equal(
            [new BoxF(5, 5, 105, 105), new BoxF(390, 300, 490, 400), new BoxF(300, 300, 400, 400)], // best score first
            boxes.Select(b => b.Box).ToArray());
    }
}
