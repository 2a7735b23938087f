using System.Buffers.Binary;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Interop.TurboJpeg;

namespace Kiosk.Tests.Imaging;

public sealed class ImageDecoderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Jpeg_file_decodes_to_the_dimensions_ffprobe_reports()
    {
        string path = TestImages.PairsDevFile("img1.jpg");

        BgrImage image = ImageDecoder.Decode(path);

        // Checked by hand: `ffprobe img1.jpg` reports 1382x1868 yuvj444p, EXIF orientation 1.
        Assert.Equal((1382, 1868), (image.Width, image.Height));
        Assert.Equal(Ffmpeg.Probe(path), (image.Width, image.Height));
        Assert.Equal(1382 * 3, image.Stride);
        Assert.True(image.Buffer.Length >= 1382 * 1868 * 3);
    }

    [Theory]
    [InlineData("img1.jpg")]  // 4:4:4
    [InlineData("img12.jpg")] // 4:2:0, so chroma upsampling differs between the two decoders
    public void Jpeg_pixels_match_ffmpeg_decode_within_two_levels_on_average(string name)
    {
        string path = TestImages.PairsDevFile(name);
        BgrImage ours = ImageDecoder.Decode(path);
        byte[] raw = Ffmpeg.DecodeRaw(path, "bgr24");
        BgrImage reference = TestImages.FromRaw(raw, ours.Width, ours.Height, 3, (r, i) => (r[i], r[i + 1], r[i + 2]));

        double mad = TestImages.MeanAbsoluteDifference(reference, ours);

        Assert.True(mad < 2.0, $"mean absolute difference to ffmpeg is {mad:F3}");
    }

    [Fact]
    public void Greyscale_jpeg_expands_to_equal_bgr_channels()
    {
        // ffmpeg's MJPEG encoder cannot write one-component JPEG, so TurboJPEG writes it (TJSAMP_GRAY).
        BgrImage colour = TestImages.Pattern(64, 48);
        byte[] jpeg;
        using (var compressor = new TurboJpegCompressor())
        {
            jpeg = compressor.CompressBgr(colour.Pixels, 64, 48, quality: 100, TurboJpegNative.TJSAMP_GRAY);
        }
        Assert.Equal(1, jpeg[FindMarker(jpeg, 0xC0) + 9]); // SOF0 component count

        BgrImage image = ImageDecoder.Decode(jpeg, "grey.jpg");

        var luma = new BgrImage(64, 48);
        ReadOnlySpan<byte> c = colour.Pixels, px = image.Pixels;
        for (int i = 0; i < px.Length; i += 3)
        {
            Assert.True(px[i] == px[i + 1] && px[i] == px[i + 2], $"pixel {i / 3} is not grey");
            luma.Pixels[i] = luma.Pixels[i + 1] = luma.Pixels[i + 2] =
                (byte)Math.Round(0.114 * c[i] + 0.587 * c[i + 1] + 0.299 * c[i + 2]); // JFIF luma
        }
        Assert.True(TestImages.MeanAbsoluteDifference(luma, image) < 2.0);
    }

    [Fact]
    public void Every_pairs_dev_jpeg_decodes_at_its_probed_size()
    {
        var failures = new List<string>();
        string[] files = Directory.GetFiles(TestPaths.PairsDev, "*.jpg");
        Assert.True(files.Length > 50, $"expected the pairs-dev photos in {TestPaths.PairsDev}");
        var target = new BgrImage(1, 1);
        foreach (string file in files)
        {
            try
            {
                ImageDecoder.DecodeInto(File.ReadAllBytes(file), file, target);
                (int w, int h) = Ffmpeg.Probe(file);
                if ((target.Width, target.Height) != (w, h))
                {
                    failures.Add($"{file}: {target.Width}x{target.Height}, ffprobe {w}x{h}");
                }
            }
            catch (ImageDecodeException e)
            {
                failures.Add(e.Message);
            }
        }
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public void Pairs_dev_img47_is_really_webp_and_decodes_as_ffmpeg_decodes_it()
    {
        string path = TestImages.PairsDevFile("img47.jpg");

        Assert.Equal(ImageFormat.WebP, ImageDecoder.DetectFormat(File.ReadAllBytes(path)));
        var image = ImageDecoder.Decode(path);
        (int w, int h) = Ffmpeg.Probe(path);
        Assert.Equal((w, h), (image.Width, image.Height));
        var reference = TestImages.FromRaw(Ffmpeg.DecodeRaw(path, "bgr24"), w, h, 3, (raw, i) => (raw[i], raw[i + 1], raw[i + 2]));
        Assert.True(TestImages.MeanAbsoluteDifference(reference, image) < 2.0);
    }

    [Fact]
    public void A_truncated_webp_is_refused_with_its_name()
    {
        byte[] whole = File.ReadAllBytes(TestImages.PairsDevFile("img47.jpg"));
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(whole.AsSpan(0, whole.Length / 2), "half.webp"));
        Assert.Contains("half.webp", e.Message);
        Assert.Contains("WebP", e.Reason);
    }

    [Theory]
    [InlineData("1")] // lossless: 526 bytes, so no pixels-per-byte bound would let it through
    [InlineData("0")]
    public void A_large_flat_webp_still_decodes(string lossless)
    {
        string path = _temp.File($"flat-{lossless}.webp");
        Ffmpeg.Run("-y", "-f", "lavfi", "-i", "color=black:s=4000x3000", "-frames:v", "1", "-c:v", "libwebp", "-lossless", lossless, path);

        BgrImage image = ImageDecoder.Decode(path);

        Assert.Equal((4000, 3000), (image.Width, image.Height));
        Assert.Equal(-1, image.Pixels.IndexOfAnyInRange((byte)8, (byte)255)); // black, give or take lossy rounding
    }

    [Fact]
    public void A_webp_header_over_the_pixel_limit_is_refused_before_the_pixels_are_allocated()
    {
        // RIFF, then a VP8L chunk holding only its 5-byte header: 0x2F, 14 bits width-1, 14 bits height-1, alpha, version.
        // 16384x4000 is 65.5 MP: WebP is bounded by the pixel limit alone, so that limit must be one a Pi can afford.
        uint bits = (16384 - 1) | ((4000u - 1) << 14);
        byte[] chunk = [0x2F, (byte)bits, (byte)(bits >> 8), (byte)(bits >> 16), (byte)(bits >> 24), 0];
        byte[] webp = [.. "RIFF"u8, .. BitConverter.GetBytes(4 + 8 + chunk.Length), .. "WEBPVP8L"u8, .. BitConverter.GetBytes(chunk.Length), .. chunk];

        (ImageDecodeException e, long allocated) = TestImages.RefusalCost(() => ImageDecoder.Decode(webp, "forged.webp"));

        Assert.Contains("16384x4000 exceed the limit", e.Reason);
        Assert.True(allocated < TestImages.RefusalAllocationBudget, $"allocated {allocated} bytes before refusing {webp.Length} bytes");
    }

    [Fact]
    public void Truncated_jpeg_file_is_refused_with_its_path_and_turbojpeg_message()
    {
        byte[] whole = File.ReadAllBytes(TestImages.PairsDevFile("img1.jpg"));
        string path = _temp.File("img1-first-half.jpg");
        File.WriteAllBytes(path, whole.AsSpan(0, whole.Length / 2).ToArray());

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(path));

        Assert.Equal(path, e.SourceName);
        Assert.Contains(path, e.Message);
        Assert.Contains("Premature end of JPEG file", e.Message);
        var inner = Assert.IsType<TurboJpegException>(e.InnerException);
        Assert.True(inner.IsWarning, "libjpeg reports truncation as a warning; it must still be refused");
    }

    [Fact]
    public void Truncated_jpeg_is_refused_by_decode_into_too()
    {
        byte[] whole = File.ReadAllBytes(TestImages.PairsDevFile("img12.jpg"));
        var target = new BgrImage(8, 8);

        var e = Assert.Throws<ImageDecodeException>(
            () => ImageDecoder.DecodeInto(whole.AsSpan(0, whole.Length * 3 / 4), "camera-frame-17", target));

        Assert.StartsWith("Cannot decode image 'camera-frame-17': ", e.Message);
    }

    [Fact]
    public void A_refused_jpeg_does_not_break_the_next_decode_on_the_same_thread()
    {
        byte[] good = File.ReadAllBytes(TestImages.PairsDevFile("img12.jpg"));
        // Random bytes after SOI make libjpeg fail mid-header; TurboJPEG 2.1 leaves that handle's state dirty.
        byte[] badHeader = new byte[4096];
        new Random(99).NextBytes(badHeader);
        badHeader[0] = 0xFF;
        badHeader[1] = 0xD8;
        badHeader[2] = 0xFF;
        BgrImage expected = ImageDecoder.Decode(good, "before");

        Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(badHeader, "bad header"));
        TestImages.AssertPixelsEqual(expected, ImageDecoder.Decode(good, "after a header failure"));
        Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(good.AsSpan(0, good.Length / 2), "truncated"));
        TestImages.AssertPixelsEqual(expected, ImageDecoder.Decode(good, "after a data failure"));
    }

    [Fact]
    public void Random_bytes_are_refused_as_unknown_format()
    {
        byte[] noise = new byte[4096];
        new Random(1234).NextBytes(noise);
        noise[0] = 0x00; // make sure the noise does not start like a real magic number

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(noise, "noise.bin"));

        Assert.Contains("unknown format", e.Reason);
        Assert.Equal("noise.bin", e.SourceName);
    }

    [Fact]
    public void Random_bytes_behind_a_jpeg_signature_are_refused()
    {
        byte[] data = new byte[4096];
        new Random(99).NextBytes(data);
        data[0] = 0xFF;
        data[1] = 0xD8;
        data[2] = 0xFF;

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(data, "fake.jpg"));

        Assert.IsType<TurboJpegException>(e.InnerException);
    }

    [Fact]
    public void Empty_data_is_refused()
    {
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(ReadOnlySpan<byte>.Empty, "nothing"));
        Assert.Equal("empty data", e.Reason);
        Assert.Equal("Cannot decode image 'nothing': empty data", e.Message);
    }

    [Fact]
    public void Empty_file_is_refused()
    {
        string path = _temp.File("empty.jpg");
        File.WriteAllBytes(path, []);

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(path));

        Assert.Equal("empty data", e.Reason);
    }

    [Fact]
    public void Missing_file_is_an_image_decode_exception_naming_the_path()
    {
        string path = _temp.File("no-such-dir/missing.jpg");

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(path));

        Assert.Equal("file not found", e.Reason);
        Assert.Equal($"Cannot decode image '{path}': file not found", e.Message);
    }

    [Fact]
    public void Jpeg_declaring_absurd_dimensions_is_refused_before_allocating()
    {
        byte[] jpeg = ImageEncoder.EncodeJpeg(TestImages.Pattern(16, 16));
        int sof = FindMarker(jpeg, 0xC0);
        // SOF0 payload: length(2) precision(1) height(2) width(2)
        jpeg[sof + 5] = 0xFF;
        jpeg[sof + 6] = 0x00;
        jpeg[sof + 7] = 0xFF;
        jpeg[sof + 8] = 0x00;

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(jpeg, "huge.jpg"));

        Assert.Contains("65280x65280 exceed the limit", e.Reason);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(6)] // a quarter turn also rents a scratch copy of the same size
    public void A_small_jpeg_declaring_a_large_image_is_refused_before_the_pixels_are_allocated(int orientation)
    {
        byte[] jpeg = ImageEncoder.EncodeJpeg(TestImages.Pattern(16, 16));
        if (orientation != 1)
        {
            jpeg = ExifOrientationTests.WithApp1(jpeg, ExifOrientationTests.Exif(ExifOrientationTests.Tiff(false, orientation)));
        }
        int sof = FindMarker(jpeg, 0xC0);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 5), 7000); // height, then width: 49 MP, within the limits
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 7), 7000);
        ImageDecoder.Decode(ImageEncoder.EncodeJpeg(TestImages.Pattern(8, 8)), "warm-up"); // the thread's decompressor

        (ImageDecodeException e, long allocated) = TestImages.RefusalCost(() => ImageDecoder.Decode(jpeg, "forged.jpg"));

        Assert.Contains($"{jpeg.Length} bytes cannot hold the 7000x7000 pixels", e.Reason);
        Assert.True(allocated < TestImages.RefusalAllocationBudget, $"allocated {allocated} bytes before refusing {jpeg.Length} bytes");
    }

    [Theory]
    [InlineData("yuvj420p")] // about 170 pixels per byte
    [InlineData("yuvj444p")]
    [InlineData("gray")]
    public void A_large_flat_jpeg_at_the_lowest_quality_still_decodes(string pixelFormat)
    {
        string path = _temp.File($"flat-{pixelFormat}.jpg");
        Ffmpeg.Run("-y", "-f", "lavfi", "-i", "color=black:s=4000x3000", "-frames:v", "1", "-q:v", "31", "-pix_fmt", pixelFormat, path);

        BgrImage image = ImageDecoder.Decode(path);

        Assert.Equal((4000, 3000), (image.Width, image.Height));
        Assert.Equal(-1, image.Pixels.IndexOfAnyExcept(image.Pixels[0]));
    }

    [Fact]
    public void An_arithmetic_coded_jpeg_far_denser_than_huffman_coding_allows_still_decodes()
    {
        // Flat black 4000x3000 greyscale, quality 1, written by libjpeg-turbo 2.1.5 with arith_code = TRUE:
        // 126 bytes, 95,000 pixels per byte (its whole scan is the 4 bytes before FFD9).
        byte[] jpeg = Convert.FromHexString(
            "FFD8FFE000104A46494600010100000100010000FFDB004300" + new string('F', 128) +
            "FFC9000B080BB80FA001011100FFCC000600101005FFDA0008010100003F00F96FBEA0FFD9");
        Assert.Equal(126, jpeg.Length);

        BgrImage image = ImageDecoder.Decode(jpeg, "arithmetic.jpg");

        Assert.Equal((4000, 3000), (image.Width, image.Height));
        Assert.Equal(-1, image.Pixels.IndexOfAnyExcept(image.Pixels[0]));
    }

    [Fact]
    public void Decode_into_reuses_a_large_enough_buffer_and_allocates_nothing_once_warm()
    {
        byte[] jpeg = File.ReadAllBytes(TestImages.PairsDevFile("img12.jpg")); // 560x415
        var target = new BgrImage(1000, 1000);
        byte[] buffer = target.Buffer;

        ImageDecoder.DecodeInto(jpeg, "warm-up", target); // first call creates the thread's decompressor
        ImageDecoder.DecodeInto(jpeg, "warm-up", target);
        long before = GC.GetAllocatedBytesForCurrentThread();
        ImageDecoder.DecodeInto(jpeg, "frame", target);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Same(buffer, target.Buffer);
        Assert.Equal((560, 415), (target.Width, target.Height));
        Assert.True(allocated == 0, $"DecodeInto allocated {allocated} bytes");
    }

    [Fact]
    public void Decode_into_gives_the_same_pixels_as_decode()
    {
        byte[] jpeg = File.ReadAllBytes(TestImages.PairsDevFile("img12.jpg"));
        var target = new BgrImage(2000, 3);

        ImageDecoder.DecodeInto(jpeg, "a", target);

        TestImages.AssertPixelsEqual(ImageDecoder.Decode(jpeg, "b"), target, "DecodeInto vs Decode");
    }

    [Fact]
    public void Decoding_on_many_threads_at_once_gives_identical_results()
    {
        byte[] jpeg = File.ReadAllBytes(TestImages.PairsDevFile("img12.jpg"));
        BgrImage expected = ImageDecoder.Decode(jpeg, "expected");

        BgrImage[] results = new BgrImage[16];
        Parallel.For(0, results.Length, i => results[i] = ImageDecoder.Decode(jpeg, $"thread {i}"));

        foreach (BgrImage r in results)
        {
            TestImages.AssertPixelsEqual(expected, r, "parallel decode");
        }
    }

    [Fact]
    public void Encoded_jpeg_decodes_back_close_to_the_original_and_ffmpeg_reads_it()
    {
        BgrImage original = TestImages.Pattern(123, 77);
        byte[] jpeg = ImageEncoder.EncodeJpeg(original, quality: 98);
        string path = _temp.File("pattern.jpg");
        File.WriteAllBytes(path, jpeg);

        BgrImage decoded = ImageDecoder.Decode(path);

        Assert.Equal(ImageFormat.Jpeg, ImageDecoder.DetectFormat(jpeg));
        Assert.True(TestImages.MeanAbsoluteDifference(original, decoded) < 3.0);
        Assert.Equal((123, 77), Ffmpeg.Probe(path));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public void Jpeg_quality_outside_1_to_100_is_an_argument_error(int quality) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageEncoder.EncodeJpeg(new BgrImage(2, 2), quality));

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0 }, ImageFormat.Jpeg)]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0 }, ImageFormat.Png)]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A }, ImageFormat.Unknown)]
    [InlineData(new byte[] { (byte)'P', (byte)'6', (byte)'\n' }, ImageFormat.Pnm)]
    [InlineData(new byte[] { (byte)'P', (byte)'5', (byte)' ' }, ImageFormat.Pnm)]
    [InlineData(new byte[] { (byte)'P', (byte)'3', (byte)'#' }, ImageFormat.Pnm)]
    [InlineData(new byte[] { (byte)'P', (byte)'6', (byte)'x' }, ImageFormat.Unknown)]
    [InlineData(new byte[] { (byte)'P', (byte)'7', (byte)'\n' }, ImageFormat.Unknown)]
    [InlineData(new byte[] { 0xFF, 0xD8 }, ImageFormat.Unknown)]
    [InlineData(new byte[] { (byte)'G', (byte)'I', (byte)'F', (byte)'8' }, ImageFormat.Unknown)]
    [InlineData(new byte[0], ImageFormat.Unknown)]
    public void Format_is_detected_from_magic_bytes(byte[] data, ImageFormat expected) =>
        Assert.Equal(expected, ImageDecoder.DetectFormat(data));

    internal static int FindMarker(byte[] jpeg, byte marker)
    {
        for (int i = 2; i + 1 < jpeg.Length; i++)
        {
            if (jpeg[i] == 0xFF && jpeg[i + 1] == marker)
            {
                return i;
            }
        }
        throw new InvalidOperationException($"marker FF{marker:X2} not found");
    }
}
