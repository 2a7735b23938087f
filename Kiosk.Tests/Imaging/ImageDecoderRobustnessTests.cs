using Kiosk.Vision.Imaging;

namespace Kiosk.Tests.Imaging;

/// <summary>Damaged input of every format must end in a result or an ImageDecodeException, never another exception.</summary>
public sealed class ImageDecoderRobustnessTests
{
    public static TheoryData<string> Formats() => ["jpeg", "png", "png-adam7", "ppm", "pgm-ascii"];

    [Theory]
    [MemberData(nameof(Formats))]
    public void Truncated_flipped_and_spliced_files_fail_only_with_image_decode_exception(string format)
    {
        byte[] valid = Sample(format);
        var random = new Random(format.Sum(c => c) * 7919); // string.GetHashCode is randomised per process
        var target = new BgrImage(1, 1);
        int refused = 0;
        for (int i = 0; i < 400; i++)
        {
            byte[] damaged = Damage(valid, random);
            try
            {
                ImageDecoder.DecodeInto(damaged, $"{format}#{i}", target);
            }
            catch (ImageDecodeException e)
            {
                Assert.Equal($"{format}#{i}", e.SourceName);
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"{format} mutation {i} threw {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
        }
        Assert.True(refused > 0, "no mutation was refused: the damage is not reaching the decoder");
        ImageDecoder.DecodeInto(valid, "still works", target); // and the decoder state is not poisoned
    }

    private static byte[] Sample(string format) => format switch
    {
        "jpeg" => ExifOrientationTests.WithApp1(
            ImageEncoder.EncodeJpeg(TestImages.Pattern(40, 24)), ExifOrientationTests.Exif(ExifOrientationTests.Tiff(false, 6))),
        "png" => PngDecoderTests.HandBuilt(19, 13, 6, 16, interlaced: false).Build(),
        "png-adam7" => PngDecoderTests.HandBuilt(19, 13, 3, 4, interlaced: true).Build(),
        "ppm" => ImageEncoder.EncodePpm(TestImages.Pattern(9, 7)),
        _ => "P2\n# grey\n3 2\n300\n0 100 200\n300 1 2\n"u8.ToArray(),
    };

    private static byte[] Damage(byte[] valid, Random random)
    {
        byte[] data = (byte[])valid.Clone();
        switch (random.Next(4))
        {
            case 0:
                return data[..random.Next(data.Length)];
            case 1:
                for (int k = random.Next(1, 8); k > 0; k--)
                {
                    data[random.Next(data.Length)] = (byte)random.Next(256);
                }
                return data;
            case 2:
                int at = random.Next(data.Length);
                byte[] noise = new byte[random.Next(1, 64)];
                random.NextBytes(noise);
                return [.. data[..at], .. noise, .. data[at..]];
            default:
                int from = random.Next(data.Length), length = random.Next(1, Math.Min(64, data.Length - from) + 1);
                return [.. data[..from], .. data[(from + length)..]];
        }
    }
}
