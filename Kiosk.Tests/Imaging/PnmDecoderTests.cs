using System.Text;
using Kiosk.Vision.Imaging;

namespace Kiosk.Tests.Imaging;

public sealed class PnmDecoderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("rgb24", "ppm", "P6")]
    [InlineData("gray", "pgm", "P5")]
    [InlineData("rgb48be", "ppm", "P6")]
    [InlineData("gray16be", "pgm", "P5")]
    public void Binary_pnm_written_by_ffmpeg_decodes_like_ffmpeg_reads_it(string pixelFormat, string extension, string magic)
    {
        string path = _temp.File($"{pixelFormat}.{extension}");
        Ffmpeg.Convert(TestImages.PairsDevFile("img12.jpg"), path, "-pix_fmt", pixelFormat);
        byte[] file = File.ReadAllBytes(path);
        Assert.Equal(magic, Encoding.ASCII.GetString(file, 0, 2));

        BgrImage ours = ImageDecoder.Decode(path);

        byte[] raw = Ffmpeg.DecodeRaw(path, pixelFormat);
        // 16-bit samples scale to 8 bits as round(v * 255 / 65535).
        static byte S(byte[] r, int i) => (byte)((((r[i] << 8) | r[i + 1]) * 255 + 32767) / 65535);
        BgrImage reference = pixelFormat switch
        {
            "rgb24" => TestImages.FromRaw(raw, 560, 415, 3, (r, i) => (r[i + 2], r[i + 1], r[i])),
            "gray" => TestImages.FromRaw(raw, 560, 415, 1, (r, i) => (r[i], r[i], r[i])),
            "rgb48be" => TestImages.FromRaw(raw, 560, 415, 6, (r, i) => (S(r, i + 4), S(r, i + 2), S(r, i))),
            _ => TestImages.FromRaw(raw, 560, 415, 2, (r, i) => (S(r, i), S(r, i), S(r, i))),
        };
        TestImages.AssertPixelsEqual(reference, ours, pixelFormat);
    }

    [Fact]
    public void Encoded_ppm_round_trips_and_ffmpeg_reads_it_identically()
    {
        BgrImage original = TestImages.Pattern(41, 17);
        byte[] ppm = ImageEncoder.EncodePpm(original);
        string path = _temp.File("pattern.ppm");
        File.WriteAllBytes(path, ppm);

        Assert.StartsWith("P6\n41 17\n255\n", Encoding.ASCII.GetString(ppm, 0, 13));
        TestImages.AssertPixelsEqual(original, ImageDecoder.Decode(ppm, "pattern.ppm"), "round trip");
        BgrImage viaFfmpeg = TestImages.FromRaw(Ffmpeg.DecodeRaw(path, "bgr24"), 41, 17, 3, (r, i) => (r[i], r[i + 1], r[i + 2]));
        TestImages.AssertPixelsEqual(original, viaFfmpeg, "ffmpeg");
    }

    [Fact]
    public void Ascii_ppm_with_comments_and_small_maxval_is_scaled_to_8_bits()
    {
        string text = """
            P3
            # a 3x2 image, maxval 7
            3 # width
            2
            7
            0 0 0    7 7 7   7 0 0
            # comment between rows
            0 7 0    0 0 7   1 2 3
            """;

        BgrImage image = ImageDecoder.Decode(Encoding.ASCII.GetBytes(text), "ascii.ppm");

        // round(v * 255 / 7): 1 -> 36, 2 -> 73, 3 -> 109
        byte[] expected =
        [
            0, 0, 0, 255, 255, 255, 0, 0, 255,
            0, 255, 0, 255, 0, 0, 109, 73, 36,
        ];
        Assert.Equal((3, 2), (image.Width, image.Height));
        Assert.Equal(expected, image.Pixels.ToArray());
    }

    [Fact]
    public void Ascii_pgm_with_16_bit_maxval_expands_grey_to_bgr()
    {
        byte[] data = Encoding.ASCII.GetBytes("P2\n2 2\n1000\n0 1000\n500 2\n");

        BgrImage image = ImageDecoder.Decode(data, "ascii.pgm");

        // round(v * 255 / 1000): 500 -> 128 (127.5 rounds up), 2 -> 1
        Assert.Equal(new byte[] { 0, 0, 0, 255, 255, 255, 128, 128, 128, 1, 1, 1 }, image.Pixels.ToArray());
    }

    [Fact]
    public void Binary_pgm_with_two_byte_samples_and_header_comments_decodes()
    {
        byte[] header = Encoding.ASCII.GetBytes("P5 #c\n# another\n3 1 # w h\n1000\n");
        byte[] samples = [0x00, 0x00, 0x01, 0xF4, 0x03, 0xE8]; // 0, 500, 1000 big-endian

        BgrImage image = ImageDecoder.Decode([.. header, .. samples], "two-byte.pgm");

        Assert.Equal(new byte[] { 0, 0, 0, 128, 128, 128, 255, 255, 255 }, image.Pixels.ToArray());
    }

    [Fact]
    public void Binary_ppm_with_maxval_below_255_is_scaled()
    {
        byte[] data = [.. Encoding.ASCII.GetBytes("P6\n2 1\n100\n"), 100, 50, 0, 1, 2, 3];

        BgrImage image = ImageDecoder.Decode(data, "maxval100.ppm");

        // round(v * 255 / 100): 50 -> 128, 1 -> 3, 2 -> 5, 3 -> 8
        Assert.Equal(new byte[] { 0, 128, 255, 8, 5, 3 }, image.Pixels.ToArray());
    }

    [Fact]
    public void Data_after_the_first_image_is_ignored()
    {
        byte[] ppm = ImageEncoder.EncodePpm(TestImages.Pattern(4, 3));

        BgrImage image = ImageDecoder.Decode([.. ppm, .. ppm], "two-images.ppm");

        TestImages.AssertPixelsEqual(TestImages.Pattern(4, 3), image, "first image");
    }

    [Theory]
    [InlineData("P2\n7000 7000\n255\n0 1 2\n")] // the 24-byte kind that used to allocate the whole picture first
    [InlineData("P3 7000 7000 65535 1")]
    [InlineData("P2\n7000 7000\n255\n#\n")]
    [InlineData("P5\n7000 7000\n255\n\u0001\u0002")]
    [InlineData("P6\n7000 7000\n65535\n\u0001\u0002")]
    public void A_few_bytes_declaring_a_large_image_are_refused_before_the_pixels_are_allocated(string content)
    {
        byte[] data = Encoding.Latin1.GetBytes(content);

        (ImageDecodeException e, long allocated) = TestImages.RefusalCost(() => ImageDecoder.Decode(data, "forged.pnm"));

        Assert.Contains("truncated pixel data", e.Reason);
        Assert.True(allocated < TestImages.RefusalAllocationBudget, $"allocated {allocated} bytes before refusing {data.Length} bytes");
    }

    [Fact]
    public void Ascii_pgm_with_single_digit_samples_and_single_separators_is_exactly_long_enough()
    {
        // 4 samples, 8 bytes after maxval: the shortest text that can hold them, with and without a final newline.
        ImageDecoder.Decode(Encoding.ASCII.GetBytes("P2\n2 2\n9\n1 2 3 4\n"), "tight.pgm");
        ImageDecoder.Decode(Encoding.ASCII.GetBytes("P2\n2 2\n9\n1 2 3 4"), "tighter.pgm");
        ImageDecoder.Decode(Encoding.ASCII.GetBytes("P2 2 2 9#\n1 2 3 4"), "comment-ends-maxval.pgm");
    }

    [Theory]
    [InlineData("P6\n4 4\n255\n\u0001\u0002\u0003", "truncated pixel data: expected 48 bytes after the header, found 3")]
    [InlineData("P3\n2 1\n255\n1 2 3 4 5  ", "truncated pixel data: expected 6 samples, found 5")]
    [InlineData("P3\n2 1\n255\n1 2 3 4 5", "truncated pixel data: 6 samples need at least 12 bytes of text after the header, found 10")]
    [InlineData("P2\n2 1\n10\n3 11\n", "sample value 11 exceeds maxval 10")]
    [InlineData("P5\n1 1\n10\n\u000b", "sample value 11 exceeds maxval 10")]
    [InlineData("P6\n4 4\n", "truncated header: missing maxval")]
    [InlineData("P6\n4 x4\n255\n", "invalid height: unexpected character 0x78")]
    [InlineData("P6\n4 4\n0\n", "maxval 0 is outside 1..65535")]
    [InlineData("P6\n4 4\n65536\n", "maxval 65536 is outside 1..65535")]
    [InlineData("P6\n99999999999 4\n255\n", "invalid width: number at offset 3 is too large")]
    [InlineData("P6\n0 4\n255\n", "invalid dimensions 0x4")]
    [InlineData("P6\n20000 20000\n255\n", "dimensions 20000x20000 exceed the limit")]
    [InlineData("P4\n8 1\n\u00ff", "PBM bitmaps (P4) are not supported")]
    [InlineData("P1\n1 1\n1", "PBM bitmaps (P1) are not supported")]
    [InlineData("P6\n1 1\n255#x\n\u0001\u0002\u0003", "expected a single whitespace character between maxval and the binary samples")]
    public void Malformed_pnm_is_refused_with_a_precise_reason(string content, string reason)
    {
        byte[] data = Encoding.Latin1.GetBytes(content);

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(data, "bad.pnm"));

        Assert.Contains(reason, e.Reason);
        Assert.StartsWith("PNM: ", e.Reason);
    }
}
