using System.CommandLine;
using Kiosk.Vision.Evaluation;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Interop.OnnxRuntime;
using Kiosk.Vision.Models;

namespace Kiosk.Host.Cli;

/// <summary>The command line: one sub-command per job, errors as one clear line and exit code 2.</summary>
public static class KioskCli
{
    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            var settings = KioskSettings.Load(KioskSettings.BuildConfiguration());
            settings.Apply();
            var root = new RootCommand("Face-recognition access-control kiosk")
            {
                EmbedCommand.Create(settings),
                CompareCommand.Create(settings),
                EvalCommand.Create(settings),
                BenchCommand.Create(settings),
                ModelsCommand.Create(),
            };
            // Our own handler below: user-facing failures as one line, anything else with its stack trace.
            return await root.Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (IsUserFacing(e))
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return 2;
        }
    }

    /// <summary>Failures the user can act on: shown as their message, without a stack trace.</summary>
    public static bool IsUserFacing(Exception e) => e is ImageDecodeException or ModelFileException or OnnxRuntimeException
        or OnnxRuntimeNotFoundException or ModelSpecMismatchException or BackendUnavailableException
        or PairListFormatException or SettingsException or FileNotFoundException or DirectoryNotFoundException or ArgumentException;
}
