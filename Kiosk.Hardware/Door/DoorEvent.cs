namespace Kiosk.Hardware.Door;

/// <summary>What happened at the door; the service stores these (the alarms also go to the log as warnings).</summary>
public enum DoorEventKind
{
    /// <summary>The relay energized (Detail: the reason and pulse), or an open door's unlock was extended.</summary>
    Unlocked,
    /// <summary>The relay released: the pulse ended, or the controller stopped.</summary>
    Locked,
    /// <summary>The door contact opened during an unlock or within the grace after it.</summary>
    DoorOpened,
    /// <summary>The door contact closed.</summary>
    DoorClosed,
    /// <summary>Alarm: the door opened while locked, with no grant or exit request just before.</summary>
    DoorForced,
    /// <summary>Alarm: the door stayed open longer than Door:HeldOpenLimit.</summary>
    DoorHeldOpen,
}

/// <param name="TimestampUtc">from the controller's TimeProvider</param>
/// <param name="Detail">a sentence for the log and the audit trail, e.g. "exit button, 00:00:03"</param>
public sealed record DoorEvent(DoorEventKind Kind, DateTimeOffset TimestampUtc, string Detail)
{
    public bool IsAlarm => Kind is DoorEventKind.DoorForced or DoorEventKind.DoorHeldOpen;
}
