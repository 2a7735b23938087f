using Microsoft.Extensions.Configuration;

namespace Kiosk.Host.Fleet;

/// <summary>
/// The fleet gallery: section <c>Fleet</c> of the settings. Every kiosk of a site shares its people through retained
/// MQTT messages encrypted with the site key (docs/mqtt/gallery.md). <see cref="Validate"/> and <see cref="Load"/> throw
/// <see cref="SettingsException"/> naming the key.
/// </summary>
public sealed class FleetOptions
{
    public const string Section = "Fleet";
    public const int MinPayloadBytes = 64 << 10;
    public const int MaxPayloadLimit = 16 << 20;

    /// <summary>Share the gallery with the site's other kiosks. Needs <c>Mqtt</c> configured and <see cref="SiteKeyFile"/>.</summary>
    public bool Enabled { get; init; }

    /// <summary>
    /// The site key: base64 of 32 random bytes, one line, the same file on every kiosk of the site, readable by its
    /// owner only (mode 0600; anything wider is refused). Make one with <c>kiosk fleet new-key --out FILE</c>.
    /// </summary>
    public string SiteKeyFile { get; init; } = "";

    /// <summary>How often unpublished local changes are looked for without a signal (e.g. made by the CLI, another process).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Larger gallery messages are refused unread, and a local record that would be larger is not published.</summary>
    public int MaxPayloadBytes { get; init; } = 1 << 20;

    /// <exception cref="SettingsException">an invalid value (the message names the key)</exception>
    public void Validate()
    {
        if (PollInterval < TimeSpan.FromMilliseconds(100) || PollInterval > TimeSpan.FromHours(1))
            throw new SettingsException($"{Section}:PollInterval is {PollInterval}; it must be from 00:00:00.1 to 01:00:00");
        if (MaxPayloadBytes is < MinPayloadBytes or > MaxPayloadLimit)
            throw new SettingsException($"{Section}:MaxPayloadBytes is {MaxPayloadBytes}; it must be {MinPayloadBytes}..{MaxPayloadLimit}");
        if (!Enabled) return;
        if (string.IsNullOrWhiteSpace(SiteKeyFile))
            throw new SettingsException($"{Section}:SiteKeyFile is empty but {Section}:Enabled is true; it must name the site key file " +
                                        "(the same on every kiosk of the site; make one with `kiosk fleet new-key --out FILE`)");
        if (Directory.Exists(SiteKeyFile))
            throw new SettingsException($"{Section}:SiteKeyFile is {SiteKeyFile}, which is a directory; it must name a file");
        if (!File.Exists(SiteKeyFile))
            throw new SettingsException($"{Section}:SiteKeyFile is {SiteKeyFile}, which does not exist");
    }

    /// <summary>Reads section <c>Fleet</c> and validates it; enabled, it also requires <c>Mqtt:Host</c> and <c>Mqtt:Site</c>.</summary>
    public static FleetOptions Load(IConfiguration config)
    {
        var options = new FleetOptions
        {
            Enabled = KioskSettings.Get(config, $"{Section}:Enabled", false),
            SiteKeyFile = config[$"{Section}:SiteKeyFile"] ?? "",
            PollInterval = KioskSettings.Get(config, $"{Section}:PollInterval", TimeSpan.FromSeconds(2)),
            MaxPayloadBytes = KioskSettings.Get(config, $"{Section}:MaxPayloadBytes", 1 << 20),
        };
        if (options.Enabled)
        {
            // The fleet gallery travels over the kiosk's MQTT connection, under its site's topic.
            foreach (string key in new[] { "Mqtt:Host", "Mqtt:Site" })
                if (string.IsNullOrWhiteSpace(config[key]))
                    throw new SettingsException($"{Section}:Enabled is true but {key} is empty; the fleet gallery needs the MQTT broker and the site name");
        }
        options.Validate();
        return options;
    }
}
