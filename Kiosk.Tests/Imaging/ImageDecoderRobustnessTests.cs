using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Kiosk.Vision.Imaging;
using Xunit.Abstractions;

namespace Kiosk.Tests.Imaging;

/// <summary>Damaged input of every format must end in a result or an ImageDecodeException, never another exception.</summary>
public sealed class ImageDecoderRobustnessTests(ITestOutputHelper output)
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

    public static TheoryData<string> PngFormats() => ["png", "png-adam7", "png-rgb8", "png-grey1"];

    /// <summary>
    /// Damage inside chunk bodies under a recomputed CRC, so it gets past the chunk layer (where the test above
    /// mostly ends) into IHDR validation, zlib, the unfilter and the pixel conversion. A quarter of the cases damage
    /// the inflated scanlines and compress them again, which reaches the unfilter with a valid zlib stream.
    /// </summary>
    [Theory]
    [MemberData(nameof(PngFormats))]
    public void Png_chunk_bodies_damaged_under_a_valid_crc_fail_only_with_image_decode_exception(string format)
    {
        byte[] valid = Sample(format);
        List<(string Type, byte[] Body)> chunks = PngChunks(valid);
        var random = new Random(format.Sum(c => c) * 104729);
        var outcomes = new SortedDictionary<string, int>();
        int pastChunkLayer = 0;
        const int Mutations = 1000;
        for (int i = 0; i < Mutations; i++)
        {
            byte[] damaged = DamagePngChunk(chunks, random);
            var target = new BgrImage(1, 1); // fresh, so any pixel buffer the decode allocates is counted below
            string outcome;
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                ImageDecoder.DecodeInto(damaged, $"{format}#{i}", target);
                outcome = "decoded";
            }
            catch (ImageDecodeException e)
            {
                Assert.Equal($"{format}#{i}", e.SourceName);
                outcome = Classify(e.Reason);
            }
            catch (Exception e)
            {
                Assert.Fail($"{format} chunk mutation {i} threw {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
                throw;
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            // The decoders' promise: never past the pixel limit, and never more pixels than the data could inflate to
            // (1032 bytes per IDAT byte, 8 pixels per byte at 1 bit, 3 bytes per BGR pixel).
            long budget = Math.Min(ImageLimits.MaxPixels * 3, 1032L * 8 * 3 * damaged.Length) + TestImages.RefusalAllocationBudget;
            Assert.True(allocated <= budget, $"{format} chunk mutation {i} ({outcome}) allocated {allocated} bytes from {damaged.Length}");
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            pastChunkLayer += outcome == "chunk layer" ? 0 : 1;
        }

        string summary = string.Join(", ", outcomes.Select(o => $"{o.Key} {o.Value}"));
        output.WriteLine($"{format}: {summary}");
        Assert.False(outcomes.ContainsKey("CRC"), $"a recomputed CRC was refused: {summary}");
        Assert.True(pastChunkLayer >= Mutations * 3 / 4, $"only {pastChunkLayer} of {Mutations} got past the chunk layer: {summary}");
        Assert.True(outcomes.GetValueOrDefault("zlib") + outcomes.GetValueOrDefault("unfilter") + outcomes.GetValueOrDefault("decoded") >= Mutations / 3,
            $"too few mutations reached inflate and the unfilter: {summary}");
        ImageDecoder.DecodeInto(valid, "still works", new BgrImage(1, 1));
    }

    private static string Classify(string reason) =>
        reason.Contains("CRC mismatch") ? "CRC"
        : reason.Contains("corrupt compressed") || reason.Contains("compressed stream ends") ? "zlib"
        : reason.Contains("scanline filter") ? "unfilter"
        : reason.Contains("cannot inflate") ? "too short to inflate"
        : reason.Contains("IHDR") || reason.Contains("dimensions") || reason.Contains("bit depth") || reason.Contains("colour type")
          || reason.Contains("method") ? "header"
        : reason.Contains("PLTE") ? "palette"
        : "chunk layer";

    private static List<(string Type, byte[] Body)> PngChunks(byte[] png)
    {
        var chunks = new List<(string, byte[])>();
        for (int pos = 8; pos < png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            chunks.Add((Encoding.ASCII.GetString(png, pos + 4, 4), png[(pos + 8)..(pos + 8 + length)]));
            pos += 12 + length;
        }
        return chunks;
    }

    /// <summary>Damages one chunk's body (IDAT more often than not) or the inflated scanlines, then writes valid CRCs.</summary>
    private static byte[] DamagePngChunk(List<(string Type, byte[] Body)> chunks, Random random)
    {
        var damaged = new List<(string Type, byte[] Body)>(chunks);
        int[] idats = [.. Enumerable.Range(0, chunks.Count).Where(i => chunks[i].Type == "IDAT")];
        switch (random.Next(4))
        {
            case 0:
                // Through zlib: the scanlines themselves damaged (filter bytes included), compressed again as one IDAT.
                using (var inflated = new MemoryStream())
                {
                    using (var zlib = new ZLibStream(new MemoryStream([.. idats.SelectMany(i => chunks[i].Body)]), CompressionMode.Decompress))
                    {
                        zlib.CopyTo(inflated);
                    }
                    byte[] lines = DamageBody(inflated.ToArray(), random);
                    damaged.RemoveRange(idats[0], idats.Length);
                    damaged.Insert(idats[0], ("IDAT", PngWriter.Compress(lines)));
                }
                break;
            case 1:
                int other = random.Next(chunks.Count);
                damaged[other] = (chunks[other].Type, DamageBody(chunks[other].Body, random));
                break;
            default:
                int idat = idats[random.Next(idats.Length)];
                damaged[idat] = ("IDAT", DamageBody(chunks[idat].Body, random));
                break;
        }
        using var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        foreach ((string type, byte[] body) in damaged)
        {
            PngWriter.WriteChunk(png, type, body);
        }
        return png.ToArray();
    }

    private static byte[] DamageBody(byte[] body, Random random)
    {
        byte[] data = (byte[])body.Clone();
        switch (body.Length == 0 ? 2 : random.Next(4))
        {
            case 0:
                return data[..random.Next(data.Length)];
            case 1:
                for (int k = random.Next(1, 4); k > 0; k--)
                {
                    data[random.Next(data.Length)] = (byte)random.Next(256);
                }
                return data;
            case 2:
                int at = random.Next(data.Length + 1);
                byte[] noise = new byte[random.Next(1, 16)];
                random.NextBytes(noise);
                return [.. data[..at], .. noise, .. data[at..]];
            default:
                int from = random.Next(data.Length), length = random.Next(1, Math.Min(16, data.Length - from) + 1);
                return [.. data[..from], .. data[(from + length)..]];
        }
    }

    private static byte[] Sample(string format) => format switch
    {
        "jpeg" => ExifOrientationTests.WithApp1(
            ImageEncoder.EncodeJpeg(TestImages.Pattern(40, 24)), ExifOrientationTests.Exif(ExifOrientationTests.Tiff(false, 6))),
        "png" => PngDecoderTests.HandBuilt(19, 13, 6, 16, interlaced: false).Build(),
        "png-adam7" => PngDecoderTests.HandBuilt(19, 13, 3, 4, interlaced: true).Build(),
        "png-rgb8" => PngDecoderTests.HandBuilt(48, 32, 2, 8, interlaced: false).Build(),
        "png-grey1" => PngDecoderTests.HandBuilt(37, 29, 0, 1, interlaced: true).Build(),
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
