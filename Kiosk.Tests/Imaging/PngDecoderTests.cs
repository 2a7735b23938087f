using System.Buffers.Binary;
using Kiosk.Vision.Imaging;

namespace Kiosk.Tests.Imaging;

public sealed class PngDecoderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    // png pixel format ffmpeg writes, raw format ffmpeg decodes it back to, bytes per raw pixel, offsets of R, G, B
    // (the high byte for 16-bit formats; the same offset three times for grey).
    public static TheoryData<string, string, int, int, int, int, bool> FfmpegFormats()
    {
        var data = new TheoryData<string, string, int, int, int, int, bool>();
        foreach (bool interlaced in (bool[])[false, true])
        {
            data.Add("rgb24", "rgb24", 3, 0, 1, 2, interlaced);
            data.Add("rgba", "rgba", 4, 0, 1, 2, interlaced);
            data.Add("rgb48be", "rgb48be", 6, 0, 2, 4, interlaced);
            data.Add("rgba64be", "rgba64be", 8, 0, 2, 4, interlaced);
            data.Add("gray", "gray", 1, 0, 0, 0, interlaced);
            data.Add("ya8", "ya8", 2, 0, 0, 0, interlaced);
            data.Add("gray16be", "gray16be", 2, 0, 0, 0, interlaced);
            data.Add("ya16be", "ya16be", 4, 0, 0, 0, interlaced);
            data.Add("pal8", "rgb24", 3, 0, 1, 2, interlaced);  // palette lookup is exact in swscale
            data.Add("monob", "gray", 1, 0, 0, 0, interlaced);  // 1-bit grey: 0 and 255
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(FfmpegFormats))]
    public void Png_written_by_ffmpeg_decodes_exactly_like_ffmpeg_reads_it(
        string pngFormat, string rawFormat, int bytesPerPixel, int r, int g, int b, bool interlaced)
    {
        string png = _temp.File($"{pngFormat}{(interlaced ? "-adam7" : "")}.png");
        // Odd size so packed rows end mid-byte and Adam7 passes are ragged; "mixed" uses every filter type.
        Ffmpeg.Convert(TestImages.PairsDevFile("img1.jpg"), png,
            ["-vf", "scale=301:217", "-pix_fmt", pngFormat, "-pred", "mixed", .. interlaced ? (string[])["-flags", "+ildct"] : []]);
        byte[] bytes = File.ReadAllBytes(png);
        Assert.Equal(interlaced ? 1 : 0, bytes[28]); // IHDR interlace method, so the case tests what it says

        BgrImage ours = ImageDecoder.Decode(png);

        BgrImage reference = TestImages.FromRaw(Ffmpeg.DecodeRaw(png, rawFormat), 301, 217, bytesPerPixel,
            (raw, i) => (raw[i + b], raw[i + g], raw[i + r]));
        TestImages.AssertPixelsEqual(reference, ours, $"{pngFormat} interlaced={interlaced}");
    }

    public static TheoryData<int, int, bool> ColourTypesAndDepths()
    {
        var data = new TheoryData<int, int, bool>();
        foreach (bool interlaced in (bool[])[false, true])
        {
            foreach (int depth in (int[])[1, 2, 4, 8, 16])
            {
                data.Add(0, depth, interlaced);
            }
            foreach (int depth in (int[])[1, 2, 4, 8])
            {
                data.Add(3, depth, interlaced);
            }
            foreach (int colorType in (int[])[2, 4, 6])
            {
                data.Add(colorType, 8, interlaced);
                data.Add(colorType, 16, interlaced);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ColourTypesAndDepths))]
    public void Hand_built_png_decodes_to_the_specified_pixels_and_agrees_with_ffmpeg(int colorType, int bitDepth, bool interlaced)
    {
        PngWriter writer = HandBuilt(37, 29, colorType, bitDepth, interlaced);
        byte[] png = writer.Build();
        string path = _temp.File($"ct{colorType}-bd{bitDepth}-i{(interlaced ? 1 : 0)}.png");
        File.WriteAllBytes(path, png);

        BgrImage ours = ImageDecoder.Decode(png, path);

        TestImages.AssertPixelsEqual(Expected(writer), ours, "against the specification");
        // ffmpeg as an independent reader of the same file (also proves the test writer produces valid PNG).
        // 16-bit files are read back as rgb48be and cut to the high byte; swscale's own 16-to-8 step rounds.
        BgrImage ffmpeg = bitDepth == 16
            ? TestImages.FromRaw(Ffmpeg.DecodeRaw(path, "rgb48be"), 37, 29, 6, (raw, i) => (raw[i + 4], raw[i + 2], raw[i]))
            : TestImages.FromRaw(Ffmpeg.DecodeRaw(path, "rgb24"), 37, 29, 3, (raw, i) => (raw[i + 2], raw[i + 1], raw[i]));
        TestImages.AssertPixelsEqual(ffmpeg, ours, "against ffmpeg");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(1, 5)]
    [InlineData(3, 2)]
    [InlineData(9, 9)]
    public void Tiny_interlaced_images_with_empty_adam7_passes_decode(int width, int height)
    {
        PngWriter writer = HandBuilt(width, height, 2, 8, interlaced: true);

        BgrImage ours = ImageDecoder.Decode(writer.Build(), "tiny.png");

        TestImages.AssertPixelsEqual(Expected(writer), ours, $"{width}x{height}");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Each_filter_type_alone_decodes(byte filter)
    {
        PngWriter writer = HandBuilt(23, 11, 6, 16, interlaced: false, filter: _ => filter);

        TestImages.AssertPixelsEqual(Expected(writer), ImageDecoder.Decode(writer.Build(), "filter.png"), $"filter {filter}");
    }

    [Fact]
    public void Corrupted_crc_is_refused()
    {
        string path = _temp.File("source.png");
        Ffmpeg.Convert(TestImages.PairsDevFile("img12.jpg"), path, "-pix_fmt", "rgb24");
        byte[] png = File.ReadAllBytes(path);
        int idat = IndexOf(png, "IDAT"u8);
        png[idat + 4 + 100] ^= 0x01; // one bit of compressed data; the chunk's stored CRC no longer matches

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png, "bitflip.png"));

        Assert.Contains("CRC mismatch in chunk 'IDAT'", e.Reason);
        Assert.Contains("bitflip.png", e.Message);
    }

    [Fact]
    public void Corrupted_stored_crc_of_the_header_is_refused()
    {
        byte[] png = HandBuilt(5, 5, 2, 8, false).Build();
        png[8 + 8 + 13] ^= 0x80; // first byte of IHDR's CRC

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png, "x.png"));

        Assert.Contains("CRC mismatch in chunk 'IHDR'", e.Reason);
    }

    [Fact]
    public void Truncated_png_is_refused()
    {
        byte[] png = HandBuilt(64, 64, 2, 8, false).Build();

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png.AsSpan(0, png.Length / 2), "half.png"));

        Assert.Contains("truncated", e.Reason);
    }

    [Fact]
    public void Png_without_iend_is_refused()
    {
        byte[] png = HandBuilt(8, 8, 2, 8, false).Build();

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png.AsSpan(0, png.Length - 12), "no-iend.png"));

        Assert.Contains("ends before the IEND chunk", e.Reason);
    }

    [Fact]
    public void Image_data_shorter_than_the_header_promises_is_refused()
    {
        PngWriter writer = HandBuilt(16, 16, 2, 8, false);
        byte[] lines = writer.FilteredScanlines();

        byte[] png = writer.Build(PngWriter.Compress(lines[..(lines.Length / 2)]));
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png, "short.png"));

        Assert.Contains("truncated image data", e.Reason);
    }

    [Fact]
    public void Invalid_filter_type_is_refused()
    {
        byte[] png = HandBuilt(8, 4, 2, 8, false, filter: n => n == 2 ? (byte)5 : (byte)0).Build();

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png, "filter5.png"));

        Assert.Contains("invalid scanline filter type 5", e.Reason);
    }

    [Fact]
    public void Corrupt_zlib_stream_with_valid_crcs_is_refused()
    {
        PngWriter writer = HandBuilt(32, 32, 2, 8, false);
        byte[] zlib = PngWriter.Compress(writer.FilteredScanlines());
        for (int i = 2; i < zlib.Length - 4; i++)
        {
            zlib[i] = 0xFF; // keep the zlib header, garble the deflate blocks
        }

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(writer.Build(zlib), "garbled.png"));

        Assert.Contains("corrupt compressed image data", e.Reason);
    }

    [Fact]
    public void Zlib_stream_asking_for_a_preset_dictionary_is_refused()
    {
        PngWriter writer = HandBuilt(8, 8, 2, 8, false);
        byte[] zlib = PngWriter.Compress(writer.FilteredScanlines());
        // FLG 0xBB: FDICT set, and 0x78BB is a multiple of 31 so the header check passes; then a dictionary id.
        byte[] withDictionary = [0x78, 0xBB, 0x12, 0x34, 0x56, 0x78, .. zlib[2..]];

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(writer.Build(withDictionary), "fdict.png"));

        Assert.Contains("corrupt compressed image data", e.Reason);
    }

    [Theory]
    [InlineData(20000, 10)]
    [InlineData(10, 20000)]
    [InlineData(15000, 15000)] // both under 16384 but 225 megapixels
    [InlineData(8000, 7000)] // 56 megapixels: over the 50 MP a 4 GB Pi can afford in several copies
    [InlineData(0, 10)]
    public void Absurd_dimensions_are_refused_before_decoding(int width, int height)
    {
        PngWriter writer = HandBuilt(4, 4, 2, 8, false);
        byte[] ihdr = writer.Ihdr();
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);

        var e = Assert.Throws<ImageDecodeException>(
            () => ImageDecoder.Decode(writer.Build(PngWriter.Compress(writer.FilteredScanlines()), ihdr), "huge.png"));

        Assert.Contains($"{width}x{height}", e.Reason);
    }

    [Theory]
    [InlineData(2, 8, false)]
    [InlineData(6, 16, true)]
    [InlineData(0, 1, false)] // 1-bit: the fewest scanline bytes per pixel, so the weakest bound
    [InlineData(3, 1, true)]
    public void A_few_bytes_of_image_data_under_a_large_header_are_refused_before_the_pixels_are_allocated(int colorType, int bitDepth, bool interlaced)
    {
        PngWriter small = HandBuilt(4, 4, colorType, bitDepth, interlaced);
        byte[] ihdr = HandBuilt(7000, 7000, colorType, bitDepth, interlaced).Ihdr(); // 49 MP: within the limits
        byte[] png = small.Build(PngWriter.Compress(small.FilteredScanlines()), ihdr);

        (ImageDecodeException e, long allocated) = TestImages.RefusalCost(() => ImageDecoder.Decode(png, "forged.png"));

        Assert.Contains("cannot inflate to the", e.Reason);
        Assert.True(allocated < TestImages.RefusalAllocationBudget, $"allocated {allocated} bytes before refusing {png.Length} bytes");
    }

    [Theory]
    [InlineData("rgb24", false)]
    [InlineData("rgb24", true)]
    [InlineData("monob", false)]
    [InlineData("gray16be", true)]
    public void A_large_flat_png_compressed_near_zlibs_best_ratio_still_decodes(string pixelFormat, bool interlaced)
    {
        string path = _temp.File($"flat-{pixelFormat}.png");
        Ffmpeg.Run(["-y", "-f", "lavfi", "-i", "color=black:s=4000x3000", "-frames:v", "1", "-pix_fmt", pixelFormat,
            .. interlaced ? (string[])["-flags", "+ildct"] : [], path]);

        BgrImage image = ImageDecoder.Decode(path);

        Assert.Equal((4000, 3000), (image.Width, image.Height));
        Assert.Equal(-1, image.Pixels.IndexOfAnyExcept((byte)0));
    }

    [Theory]
    [InlineData(2, 4, "invalid bit depth 4 for colour type 2")]
    [InlineData(3, 16, "invalid bit depth 16 for colour type 3")]
    [InlineData(5, 8, "invalid colour type 5")]
    public void Invalid_header_combinations_are_refused(int colorType, int bitDepth, string reason)
    {
        PngWriter writer = HandBuilt(4, 4, 2, 8, false);
        byte[] ihdr = writer.Ihdr();
        ihdr[8] = (byte)bitDepth;
        ihdr[9] = (byte)colorType;

        var e = Assert.Throws<ImageDecodeException>(
            () => ImageDecoder.Decode(writer.Build(PngWriter.Compress(writer.FilteredScanlines()), ihdr), "bad.png"));

        Assert.Contains(reason, e.Reason);
    }

    [Fact]
    public void Palette_image_without_plte_is_refused()
    {
        PngWriter withPalette = HandBuilt(4, 4, 3, 8, false);
        var writer = new PngWriter
        {
            Width = 4, Height = 4, BitDepth = 8, ColorType = 3, Sample = withPalette.Sample,
        };

        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(writer.Build(), "nopal.png"));

        Assert.Contains("without PLTE", e.Reason);
    }

    [Fact]
    public void Unknown_critical_chunk_is_refused_but_unknown_ancillary_chunks_are_skipped()
    {
        PngWriter writer = HandBuilt(4, 4, 2, 8, false);
        byte[] png = writer.Build();
        int iend = IndexOf(png, "IEND"u8) - 4;

        byte[] WithChunk(string type)
        {
            using var s = new MemoryStream();
            s.Write(png, 0, iend);
            PngWriter.WriteChunk(s, type, [1, 2, 3]);
            s.Write(png, iend, png.Length - iend);
            return s.ToArray();
        }

        TestImages.AssertPixelsEqual(Expected(writer), ImageDecoder.Decode(WithChunk("zzZz"), "ancillary.png"), "ancillary");
        var e = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(WithChunk("ZZZZ"), "critical.png"));
        Assert.Contains("unsupported critical chunk 'ZZZZ'", e.Reason);
    }

    [Fact]
    public void Decode_into_a_reused_image_gives_the_same_pixels()
    {
        PngWriter writer = HandBuilt(37, 29, 6, 8, interlaced: true);
        var target = new BgrImage(100, 100);
        byte[] buffer = target.Buffer;

        ImageDecoder.DecodeInto(writer.Build(), "reuse.png", target);

        Assert.Same(buffer, target.Buffer);
        TestImages.AssertPixelsEqual(Expected(writer), target, "reused");
    }

    /// <summary>A deterministic test image: every sample differs from its neighbours so filters and Adam7 show.</summary>
    internal static PngWriter HandBuilt(int width, int height, int colorType, int bitDepth, bool interlaced, Func<int, byte>? filter = null)
    {
        int max = (1 << bitDepth) - 1;
        byte[]? palette = null, transparency = null;
        if (colorType == 3)
        {
            int entries = 1 << bitDepth;
            palette = new byte[entries * 3];
            transparency = new byte[entries];
            for (int i = 0; i < entries; i++)
            {
                palette[i * 3] = (byte)(i * 37 + 11);
                palette[i * 3 + 1] = (byte)(255 - i * 5);
                palette[i * 3 + 2] = (byte)(i * 101 + 3);
                transparency[i] = (byte)(i * 13); // alpha is to be dropped, not composited
            }
        }
        return new PngWriter
        {
            Width = width,
            Height = height,
            BitDepth = bitDepth,
            ColorType = colorType,
            Interlaced = interlaced,
            Palette = palette,
            Transparency = transparency,
            Filter = filter ?? (n => (byte)(n % 5)),
            IdatChunkSize = 97,
            Sample = (x, y, c) => (int)(((uint)(x * 2971 + y * 1237 + c * 7919 + x * y * 31) * 2654435761u >> 7) % (uint)(max + 1)),
        };
    }

    /// <summary>What the PNG specification says the samples mean, reduced to 8-bit BGR with alpha dropped.</summary>
    internal static BgrImage Expected(PngWriter writer)
    {
        var image = new BgrImage(writer.Width, writer.Height);
        int max = (1 << writer.BitDepth) - 1;
        byte To8(int v) => writer.BitDepth switch { 16 => (byte)(v >> 8), 8 => (byte)v, _ => (byte)(v * 255 / max) };
        for (int y = 0; y < writer.Height; y++)
        {
            for (int x = 0; x < writer.Width; x++)
            {
                Span<byte> px = image.Row(y).Slice(x * 3, 3);
                switch (writer.ColorType)
                {
                    case 0 or 4:
                        px[0] = px[1] = px[2] = To8(writer.Sample(x, y, 0));
                        break;
                    case 3:
                        int index = writer.Sample(x, y, 0);
                        px[0] = writer.Palette![index * 3 + 2];
                        px[1] = writer.Palette[index * 3 + 1];
                        px[2] = writer.Palette[index * 3];
                        break;
                    default:
                        px[0] = To8(writer.Sample(x, y, 2));
                        px[1] = To8(writer.Sample(x, y, 1));
                        px[2] = To8(writer.Sample(x, y, 0));
                        break;
                }
            }
        }
        return image;
    }

    private static int IndexOf(byte[] data, ReadOnlySpan<byte> value)
    {
        int i = data.AsSpan().IndexOf(value);
        Assert.True(i >= 0);
        return i;
    }
}
