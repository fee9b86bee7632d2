"""The live call desk's stored side: IVR menus per hotline number, queues with their hours, calls waiting in a
queue (with the green channel's priority), and call-back tasks for abandoned and after-hours calls."""
