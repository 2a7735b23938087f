using System.Buffers.Binary;
using Kiosk.Vision.Imaging;

namespace Kiosk.Tests.Imaging;

public sealed class ExifOrientationTests
{
    private const int W = 48, H = 32;

    // Declared before Stored: static initialisers run in text order.
    private static readonly (byte B, byte G, byte R) Red = (0, 0, 255), Green = (0, 255, 0), Blue = (255, 0, 0), White = (255, 255, 255);

    // A non-square picture with a distinct colour in each corner block, so every flip and turn is visible.
    private static readonly byte[] Stored = ImageEncoder.EncodeJpeg(CornerPicture(), quality: 95);

    public static TheoryData<int, bool> OrientationsAndByteOrders()
    {
        var data = new TheoryData<int, bool>();
        for (int o = 1; o <= 8; o++)
        {
            data.Add(o, true);
            data.Add(o, false);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(OrientationsAndByteOrders))]
    public void Decoded_image_is_the_stored_image_turned_upright(int orientation, bool littleEndian)
    {
        BgrImage plain = ImageDecoder.Decode(Stored, "plain.jpg");
        byte[] tagged = WithApp1(Stored, Exif(Tiff(littleEndian, orientation)));

        BgrImage upright = ImageDecoder.Decode(tagged, "tagged.jpg");

        TestImages.AssertPixelsEqual(Transformed(plain, orientation), upright, $"orientation {orientation}");
    }

    // Where each stored corner must be seen, from the EXIF 2.3 table of what the 0th row and 0th column show
    // (e.g. 6: 0th row = visual right side, 0th column = visual top, i.e. rotate 90 degrees clockwise to view).
    [Theory]
    [InlineData(1, "TL", "TR", "BL", "BR")]
    [InlineData(2, "TR", "TL", "BR", "BL")]
    [InlineData(3, "BR", "BL", "TR", "TL")]
    [InlineData(4, "BL", "BR", "TL", "TR")]
    [InlineData(5, "TL", "BL", "TR", "BR")]
    [InlineData(6, "TR", "BR", "TL", "BL")]
    [InlineData(7, "BR", "TR", "BL", "TL")]
    [InlineData(8, "BL", "TL", "BR", "TR")]
    public void Stored_corners_land_where_the_exif_specification_says(int orientation, string topLeft, string topRight, string bottomLeft, string bottomRight)
    {
        BgrImage upright = ImageDecoder.Decode(WithApp1(Stored, Exif(Tiff(true, orientation))), "corners.jpg");

        Assert.Equal(orientation >= 5 ? (H, W) : (W, H), (upright.Width, upright.Height));
        AssertNear(Red, CornerColour(upright, topLeft), $"stored top-left at visual {topLeft}");
        AssertNear(Green, CornerColour(upright, topRight), $"stored top-right at visual {topRight}");
        AssertNear(Blue, CornerColour(upright, bottomLeft), $"stored bottom-left at visual {bottomLeft}");
        AssertNear(White, CornerColour(upright, bottomRight), $"stored bottom-right at visual {bottomRight}");
    }

    [Fact]
    public void Orientation_in_a_long_typed_entry_after_other_tags_and_an_xmp_segment_is_found()
    {
        byte[] tiff = Tiff(false, 6, type: 4, entriesBefore: 3);
        byte[] xmp = [.. "http://ns.adobe.com/xap/1.0/\0"u8, .. "<x:xmpmeta/>"u8];
        byte[] jpeg = WithApp1(WithApp1(Stored, Exif(tiff)), xmp); // XMP ends up first

        Assert.Equal(6, ExifOrientation.Read(jpeg));
    }

    [Fact]
    public void Decode_into_swaps_the_target_dimensions_for_a_quarter_turn()
    {
        var target = new BgrImage(200, 200);
        byte[] buffer = target.Buffer;

        ImageDecoder.DecodeInto(WithApp1(Stored, Exif(Tiff(true, 8))), "rot.jpg", target);

        Assert.Equal((H, W), (target.Width, target.Height));
        Assert.Same(buffer, target.Buffer);
    }

    public static TheoryData<string, byte[]> MalformedExif() => new()
    {
        { "empty TIFF", [] },
        { "unknown byte order", [(byte)'X', (byte)'X', 42, 0, 8, 0, 0, 0, 0, 0] },
        { "wrong magic", [(byte)'I', (byte)'I', 43, 0, 8, 0, 0, 0, 0, 0] },
        { "truncated TIFF header", [(byte)'I', (byte)'I', 42, 0] },
        { "IFD offset past the end", Patch(Tiff(true, 6), 4, 0xF0, 0xFF, 0xFF, 0xFF) },
        { "IFD offset just short of the end", Patch(Tiff(true, 6), 4, 17, 0, 0, 0) },
        { "orientation entry cut off by the segment end", Tiff(true, 6, entriesBefore: 1)[..(10 + 12 + 6)] },
        { "undefined value type", Patch(Tiff(true, 6), 12, 7, 0) },
        { "zero value count", Patch(Tiff(true, 6), 14, 0, 0, 0, 0) },
        { "orientation 0", Tiff(true, 0) },
        { "orientation 9", Tiff(true, 9) },
        { "orientation 0xFFFF", Tiff(false, 0xFFFF) },
    };

    [Theory]
    [MemberData(nameof(MalformedExif))]
    public void Malformed_exif_is_ignored_and_the_image_still_decodes(string what, byte[] tiff)
    {
        BgrImage plain = ImageDecoder.Decode(Stored, "plain.jpg");

        BgrImage decoded = ImageDecoder.Decode(WithApp1(Stored, Exif(tiff)), what);

        TestImages.AssertPixelsEqual(plain, decoded, what);
    }

    [Fact]
    public void Reading_orientation_from_every_truncation_and_random_damage_never_fails()
    {
        byte[] tagged = WithApp1(Stored, Exif(Tiff(true, 6, entriesBefore: 2)));
        int headerEnd = tagged.AsSpan().IndexOf([(byte)0xFF, (byte)0xDB]) + 2;
        for (int length = 0; length <= headerEnd; length++)
        {
            int o = ExifOrientation.Read(tagged.AsSpan(0, length));
            Assert.InRange(o, 1, 8);
        }
        var random = new Random(42);
        for (int i = 0; i < 5000; i++)
        {
            byte[] damaged = tagged[..headerEnd];
            for (int k = random.Next(1, 6); k > 0; k--)
            {
                damaged[random.Next(2, damaged.Length)] = (byte)random.Next(256);
            }
            Assert.InRange(ExifOrientation.Read(damaged), 1, 8);
        }
        Assert.Equal(6, ExifOrientation.Read(tagged));
    }

    [Fact]
    public void Data_that_is_not_a_jpeg_has_no_orientation()
    {
        Assert.Equal(1, ExifOrientation.Read([]));
        Assert.Equal(1, ExifOrientation.Read([0x89, 0x50, 0x4E, 0x47]));
        Assert.Equal(1, ExifOrientation.Read(Stored)); // libjpeg-turbo writes JFIF, no EXIF
    }

    /// <summary>Independent statement of the eight orientations: output (x, y) shows stored pixel (sx, sy).</summary>
    private static BgrImage Transformed(BgrImage stored, int orientation)
    {
        int w = stored.Width, h = stored.Height;
        bool swap = orientation >= 5;
        var result = new BgrImage(swap ? h : w, swap ? w : h);
        for (int y = 0; y < result.Height; y++)
        {
            for (int x = 0; x < result.Width; x++)
            {
                (int sx, int sy) = orientation switch
                {
                    1 => (x, y),
                    2 => (w - 1 - x, y),         // mirror horizontally
                    3 => (w - 1 - x, h - 1 - y), // rotate 180
                    4 => (x, h - 1 - y),         // mirror vertically
                    5 => (y, x),                 // transpose
                    6 => (y, h - 1 - x),         // rotate 90 clockwise
                    7 => (w - 1 - y, h - 1 - x), // transverse
                    _ => (w - 1 - y, x),         // 8: rotate 90 counter-clockwise
                };
                stored.Row(sy).Slice(sx * 3, 3).CopyTo(result.Row(y).Slice(x * 3, 3));
            }
        }
        return result;
    }

    private static BgrImage CornerPicture()
    {
        var image = new BgrImage(W, H);
        image.Pixels.Fill(128);
        Paint(image, 0, 0, Red);
        Paint(image, W - 12, 0, Green);
        Paint(image, 0, H - 12, Blue);
        Paint(image, W - 12, H - 12, White);
        return image;

        static void Paint(BgrImage image, int x0, int y0, (byte B, byte G, byte R) c)
        {
            for (int y = y0; y < y0 + 12; y++)
            {
                for (int x = x0; x < x0 + 12; x++)
                {
                    image.Row(y)[x * 3] = c.B;
                    image.Row(y)[x * 3 + 1] = c.G;
                    image.Row(y)[x * 3 + 2] = c.R;
                }
            }
        }
    }

    private static (byte B, byte G, byte R) CornerColour(BgrImage image, string corner)
    {
        int x = corner[1] == 'L' ? 5 : image.Width - 6;
        int y = corner[0] == 'T' ? 5 : image.Height - 6;
        Span<byte> px = image.Row(y).Slice(x * 3, 3);
        return (px[0], px[1], px[2]);
    }

    private static void AssertNear((byte B, byte G, byte R) expected, (byte B, byte G, byte R) actual, string what) =>
        Assert.True(Math.Abs(expected.B - actual.B) < 40 && Math.Abs(expected.G - actual.G) < 40 && Math.Abs(expected.R - actual.R) < 40,
            $"{what}: expected about {expected}, got {actual}");

    /// <summary>
    /// A TIFF header and IFD0 holding the orientation tag, preceded by <paramref name="entriesBefore"/> other tags.
    /// Layout: header (8 bytes), entry count at 8, entries from 10, next-IFD offset after them.
    /// </summary>
    internal static byte[] Tiff(bool littleEndian, int orientation, ushort type = 3, int entriesBefore = 0)
    {
        int count = entriesBefore + 1;
        byte[] t = new byte[8 + 2 + 12 * count + 4];
        void U16(int at, int v)
        {
            if (littleEndian) BinaryPrimitives.WriteUInt16LittleEndian(t.AsSpan(at), (ushort)v);
            else BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(at), (ushort)v);
        }
        void U32(int at, uint v)
        {
            if (littleEndian) BinaryPrimitives.WriteUInt32LittleEndian(t.AsSpan(at), v);
            else BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(at), v);
        }
        t[0] = t[1] = (byte)(littleEndian ? 'I' : 'M');
        U16(2, 42);
        U32(4, 8);
        U16(8, count);
        for (int i = 0; i < entriesBefore; i++)
        {
            int e = 10 + 12 * i;
            U16(e, 0x010F + i); // Make, Model, ...: tags that come before 0x0112
            U16(e + 2, 3);
            U32(e + 4, 1);
            U16(e + 8, 1234);
        }
        int entry = 10 + 12 * entriesBefore;
        U16(entry, 0x0112);
        U16(entry + 2, type);
        U32(entry + 4, 1);
        if (type == 4) U32(entry + 8, (uint)orientation);
        else U16(entry + 8, orientation);
        return t;
    }

    internal static byte[] Exif(byte[] tiff) => [.. "Exif\0\0"u8, .. tiff];

    /// <summary>Inserts an APP1 segment with <paramref name="payload"/> right after SOI.</summary>
    internal static byte[] WithApp1(byte[] jpeg, byte[] payload)
    {
        byte[] segment = new byte[4 + payload.Length];
        segment[0] = 0xFF;
        segment[1] = 0xE1;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), (ushort)(payload.Length + 2));
        payload.CopyTo(segment, 4);
        return [.. jpeg[..2], .. segment, .. jpeg[2..]];
    }

    private static byte[] Patch(byte[] data, int at, params byte[] bytes)
    {
        bytes.CopyTo(data, at);
        return data;
    }
}
