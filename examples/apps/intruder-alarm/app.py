"""An intruder alarm at a door: a camera sends frames, a motion sensor says when something
moves. On motion the app asks the `person` model whether the camera's latest frame shows a
person; if it does, the alarm sounds (the command carries the frame's sequence number, so whoever
looks can find the frame) and the people who deployed the app are notified. Otherwise it stays
silent and only logs what it saw. Each frame is judged once, however many motions follow it."""

from trellis import App, config, controllers, inference, log, notify, sensors


class IntruderAlarm(App):
    def init(self, params):
        least = float(config.get("min-confidence", 0.5))
        if not 0.5 <= least <= 1.0:
            raise ValueError(f"min-confidence is {least:g}; it must be from 0.5 to 1")
        self.judged = None  # The sequence number of the last frame asked about.

    def on_reading(self, reading):
        if reading.role != "motion":
            return  # Frames wait for motion; sensors.latest keeps the newest.
        if not isinstance(reading.value, float):
            raise TypeError(f"{reading.instance_id} sent {reading.value!r}; expected a number")
        if reading.value < float(config.get("motion-above", 0.5)):
            return
        frame = sensors.latest("camera")
        if frame is None:
            log.warn("motion at the door, but the camera has sent no frame yet")
            return
        if frame.sequence == self.judged:
            return
        self.judged = frame.sequence
        answer = inference.predict("person", frame.value)
        person, confidence = answer["person"], answer["confidence"]
        if not person or confidence < float(config.get("min-confidence", 0.5)):
            log.info(f"motion, no person in frame #{frame.sequence} ({confidence:.2f} sure)")
            return
        log.warn(f"person in frame #{frame.sequence} ({confidence:.2f} sure): sounding the alarm")
        controllers.send("alarm", "sound", frame=frame.sequence, confidence=confidence)
        notify(
            f"Person at the door in frame #{frame.sequence}",
            f"{frame.instance_id} saw a person after motion at {reading.instance_id} "
            f"(the model is {confidence:.0%} sure). The alarm is sounding.",
            urgency="high",
        )
