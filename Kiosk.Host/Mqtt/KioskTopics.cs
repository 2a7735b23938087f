namespace Kiosk.Host.Mqtt;

/// <summary>
/// The MQTT topics of one kiosk (<c>kiosk/&lt;site&gt;/&lt;kiosk&gt;/…</c>) and of its site's shared gallery
/// (<c>kiosk/&lt;site&gt;/gallery/&lt;person-id&gt;</c>). Site and kiosk names are single topic levels.
/// </summary>
public sealed record KioskTopics
{
    public const int MaxNameLength = 64;

    public string Site { get; }
    public string Kiosk { get; }

    /// <exception cref="SettingsException">a name is empty, too long, or not a single topic level</exception>
    public KioskTopics(string site, string kiosk)
    {
        Site = CheckName(site, "Mqtt:Site");
        Kiosk = CheckName(kiosk, "Mqtt:Kiosk");
    }

    /// <summary>Retained presence: <c>online</c> with details while connected, <c>offline</c> (the last will) otherwise.</summary>
    public string Status => $"kiosk/{Site}/{Kiosk}/status";
    /// <summary>Door and recognition events, QoS 1, from the SQLite outbox.</summary>
    public string Events => $"kiosk/{Site}/{Kiosk}/events";
    /// <summary>Commands to this kiosk.</summary>
    public string Commands => $"kiosk/{Site}/{Kiosk}/commands";
    /// <summary>Where replies go when a command names no reply topic.</summary>
    public string Replies => $"kiosk/{Site}/{Kiosk}/replies";
    /// <summary>Every person of the site's gallery (subscription filter).</summary>
    public string GalleryFilter => $"kiosk/{Site}/gallery/+";
    public string GalleryPrefix => $"kiosk/{Site}/gallery/";
    /// <summary>One person of the site's gallery, retained.</summary>
    public string Gallery(string uid) => GalleryPrefix + uid;

    /// <summary>A site or kiosk name: 1-64 characters, none of <c>/ + #</c>, no control characters or spaces.</summary>
    public static string CheckName(string? value, string key)
    {
        if (string.IsNullOrEmpty(value))
            throw new SettingsException($"{key} is empty; it must name this {(key.EndsWith("Site", StringComparison.Ordinal) ? "site" : "kiosk")} (e.g. hq, front-door)");
        if (value.Length > MaxNameLength || value.Any(c => c is '/' or '+' or '#' || char.IsControl(c) || char.IsWhiteSpace(c)))
            throw new SettingsException($"{key} is '{value}'; it must be 1-{MaxNameLength} characters without '/', '+', '#', spaces or control characters (it is one MQTT topic level)");
        return value;
    }
}
