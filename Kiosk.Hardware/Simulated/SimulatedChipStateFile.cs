using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Kiosk.Hardware.Simulated;

/// <summary>
/// A process as a simulated chip's state file names a line's owner: its id and its start time (clock ticks after
/// boot, field 22 of <c>/proc/&lt;pid&gt;/stat</c>), so that a recycled process id is not taken for the owner.
/// </summary>
public readonly record struct SimulatedProcess(int Id, long StartTime)
{
    /// <summary>This process.</summary>
    public static SimulatedProcess Current { get; } = new(Environment.ProcessId, StartTimeOf(Environment.ProcessId) ?? 0);

    /// <summary>True while the process runs: its /proc entry is there with the same start time and it is no zombie
    /// (a zombie's files are closed, so the kernel has released its line requests already).</summary>
    public bool IsRunning() => StartTimeOf(Id) is { } start && start == StartTime;

    private static long? StartTimeOf(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // no such process
        }
        // "pid (comm) state ppid ... starttime ...": comm may hold spaces and parentheses, so count after the last ')'.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        if (fields.Length < 20 || fields[0] is "Z" or "X")
            return null;
        return long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out long start) ? start : null;
    }
}

/// <summary>One line as a simulated chip's state file records it.</summary>
/// <param name="High">the physical level when the file was written</param>
/// <param name="Driven">the chip drives the level: an output, or a released output that keeps its last value</param>
/// <param name="Consumer">the label of the request holding the line; null when free</param>
/// <param name="Owner">the process holding the line; null when free</param>
public sealed record SimulatedLineRecord(int Line, bool High, bool Driven, string? Consumer = null, SimulatedProcess? Owner = null);

/// <summary>
/// The file a <see cref="SimulatedGpioChip"/> keeps its lines in (Door:SimulatedStateFile), so that the chip outlives
/// a process as a real one does: JSON, every line with its level and its owner, replaced whole (written beside it,
/// then renamed over it) at every change, so a reader sees the old state or the new one, never half of one.
/// </summary>
public static class SimulatedChipStateFile
{
    /// <summary>The lines recorded in <paramref name="path"/>, as written; empty when there is no file yet.</summary>
    /// <exception cref="InvalidDataException">the file is not a simulated chip's state file</exception>
    public static IReadOnlyList<SimulatedLineRecord> Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        byte[] json;
        try
        {
            json = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return [];
        }
        try
        {
            return JsonSerializer.Deserialize(json, SimulatedChipStateJsonContext.Default.SimulatedChipState)?.Lines
                   ?? throw new InvalidDataException($"{path} is not a simulated GPIO chip's state file: it holds null");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a simulated GPIO chip's state file: {e.Message}", e);
        }
    }

    /// <summary>Replaces <paramref name="path"/> atomically (a temporary file beside it, renamed over it; no fsync).</summary>
    internal static void Write(string path, string chip, IReadOnlyList<SimulatedLineRecord> lines)
    {
        string temp = $"{path}.{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}.tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(new SimulatedChipState(chip, lines),
            SimulatedChipStateJsonContext.Default.SimulatedChipState));
        File.Move(temp, path, overwrite: true);
    }
}

internal sealed record SimulatedChipState(string Chip, IReadOnlyList<SimulatedLineRecord> Lines);

[JsonSerializable(typeof(SimulatedChipState))]
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
internal sealed partial class SimulatedChipStateJsonContext : JsonSerializerContext;
