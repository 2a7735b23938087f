using System.CommandLine;
using Kiosk.Host.Fleet;
using Spectre.Console;

namespace Kiosk.Host.Cli;

/// <summary>fleet ...: the fleet gallery (every kiosk of a site sharing its people over MQTT) from the command line.</summary>
internal static class FleetCommands
{
    public static Command Fleet()
    {
        var fleet = new Command("fleet", "The fleet gallery: the kiosks of a site share their people through the MQTT broker (docs/mqtt/gallery.md)");
        fleet.Subcommands.Add(NewKey());
        return fleet;
    }

    private static Command NewKey()
    {
        var output = new Option<FileInfo>("--out", "-o")
        {
            Description = "Where to write the key: base64 of 32 random bytes, mode 0600; never over an existing file",
            Required = true,
        };
        var cmd = new Command("new-key", "Make a site key for the fleet gallery, once per site; every kiosk of the site gets a copy (setting Fleet:SiteKeyFile)")
            { output };
        cmd.SetAction(r =>
        {
            string path = r.GetValue(output)!.FullName;
            string fingerprint = SiteKey.CreateFile(path);
            AnsiConsole.MarkupLineInterpolated($"site key written to {path} (mode 0600), fingerprint [bold]{fingerprint}[/]");
            AnsiConsole.MarkupLine("Copy it to every kiosk of the site (mode 0600, owned by the kiosk's user), set Fleet:SiteKeyFile to it, and keep a " +
                                   "backup: whoever holds it can read and change the site's gallery. Each kiosk logs the fingerprint at start.");
            return 0;
        });
        return cmd;
    }
}
