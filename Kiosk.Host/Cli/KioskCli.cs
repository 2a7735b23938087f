using System.CommandLine;
using Kiosk.Vision.Evaluation;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Interop.OnnxRuntime;
using Kiosk.Vision.Interop.TurboJpeg;
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
                ModelsCommand.Create(settings),
                DoctorCommand.Create(settings),
                GalleryCommands.Enroll(settings),
                GalleryCommands.People(settings),
                GalleryCommands.Identify(settings),
                ServiceCommands.Run(settings),
                ServiceCommands.Demo(settings),
                EventCommands.Events(settings),
                EventCommands.Attendance(settings),
                CommandCommands.Command(),
                FleetCommands.Fleet(),
            };
            // Our own handler below: user-facing failures as one line, anything else with its stack trace.
            return await root.Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (NoFaceException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 1;
        }
        catch (Exception e) when (IsUserFacing(e))
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            // The service cannot run as configured: EX_CONFIG, which the unit does not restart (no crash loop).
            return args is ["run", ..] && IsConfigurationFailure(e) ? ConfigurationExitCode : 2;
        }
        catch (Exception e)
        {
            // A defect, not a user error: the whole story, and a distinct exit code.
            await Console.Error.WriteLineAsync($"internal error: {e}");
            return 3;
        }
    }

    /// <summary>sysexits' EX_CONFIG: `kiosk run` cannot work as configured; systemd/kiosk.service does not restart on it.</summary>
    public const int ConfigurationExitCode = 78;

    /// <summary>
    /// Failures at start-up that only a change of settings, models or installed libraries can cure: restarting will
    /// not. A model that cannot be opened (ONNX Runtime or OpenVINO refusing the file) is one.
    /// </summary>
    public static bool IsConfigurationFailure(Exception e) => e is SettingsException or ModelFileException or ModelSpecException
        or ModelSpecMismatchException or BackendUnavailableException or OnnxRuntimeNotFoundException or OnnxRuntimeException
        or Kiosk.Vision.Interop.OpenVino.OpenVinoNotFoundException or Kiosk.Vision.Interop.OpenVino.OpenVinoException
        or Gallery.GalleryKeyException or Fleet.SiteKeyException;

    /// <summary>Failures the user can act on: shown as their message, without a stack trace.</summary>
    public static bool IsUserFacing(Exception e) => e is UsageException or ImageDecodeException or ModelFileException
        or OnnxRuntimeException or OnnxRuntimeNotFoundException or ModelSpecMismatchException or ModelSpecException
        or BackendUnavailableException or Kiosk.Vision.Interop.OpenVino.OpenVinoNotFoundException
        or Kiosk.Vision.Interop.OpenVino.OpenVinoException or ModelDownloadException or PairListFormatException or SettingsException or TurboJpegException
        or Gallery.GalleryException or Gallery.GalleryKeyException or Events.EventStoreException or Fleet.SiteKeyException
        or FileNotFoundException or DirectoryNotFoundException;
}

/// <summary>The command line asked for something that cannot be done as asked.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>An image the command needs a face in has none: exit code 1, like grep finding nothing.</summary>
public sealed class NoFaceException(string message) : Exception(message);
