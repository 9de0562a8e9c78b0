// The README file of tracefs: the kernel's mini-HOWTO (readme_msg in kernel/trace/trace.c), kept to the
// parts this emulator has, since tools and selftests (check_requires) grep it for features.
export const README = `tracing mini-HOWTO:

# echo 0 > tracing_on : quick way to disable tracing
# echo 1 > tracing_on : quick way to re-enable tracing

 Important files:
  trace\t\t\t- The static contents of the buffer
\t\t\t  To clear the buffer write into this file: echo > trace
  trace_pipe\t\t- A consuming read to see the contents of the buffer
  current_tracer\t- function and latency tracers
  available_tracers\t- list of configured tracers for current_tracer
  error_log\t- error log for failed commands (that support it)
  buffer_size_kb\t- view and modify size of per cpu buffer
  buffer_total_size_kb  - view total size of all cpu buffers

  trace_clock\t\t- change the clock used to order events
       local:   Per cpu clock but may not be synced across CPUs
      global:   Synced across CPUs but slows tracing down.
     counter:   Not a clock, but just an increment

  trace_marker\t\t- Writes into this file writes into the kernel buffer

  trace_marker_raw\t\t- Writes into this file writes binary data into the kernel buffer
  instances\t\t- Make sub-buffers with: mkdir instances/foo
\t\t\t  Remove sub-buffer with rmdir
  saved_cmdlines_size\t- echo command number in here to store comm-pid list

  available_filter_functions - list of functions that can be filtered on
  set_ftrace_filter\t- echo function name in here to only trace these
\t\t\t  functions
\t     accepts: func_full_name or glob-matching-pattern
\t     modules: Can select a group via module
\t      Format: :mod:<module-name>
\t     example: echo :mod:ext3 > set_ftrace_filter
\t    triggers: a command to perform when function is hit
\t      Format: <function>:<trigger>[:count]
\t     trigger: traceon, traceoff
\t\t      enable_event:<system>:<event>
\t\t      disable_event:<system>:<event>
\t\t      stacktrace
\t\t      snapshot
\t\t      dump
\t\t      cpudump
\t     example: echo do_fault:traceoff > set_ftrace_filter
\t              echo do_trap:traceoff:3 > set_ftrace_filter
\t     The first one will disable tracing every time do_fault is hit
\t     The second will disable tracing at most 3 times when do_trap is hit
\t       The first time do trap is hit and it disables tracing, the
\t       counter will decrement to 2. If tracing is already disabled,
\t       the counter will not decrement. It only decrements when the
\t       trigger did work
\t     To remove trigger without count:
\t       echo '!<function>:<trigger> > set_ftrace_filter
\t     To remove trigger with a count:
\t       echo '!<function>:<trigger>:0 > set_ftrace_filter
  set_ftrace_notrace\t- echo function name in here to never trace.
\t    accepts: func_full_name, *func_end, func_begin*, *func_middle*
\t    modules: Can select a group via module command :mod:
\t    Does not accept triggers

  snapshot\t\t- Like 'trace' but shows the content of the static
\t\t\t  snapshot buffer. Read the contents for more
\t\t\t  information
  events/\t\t\t- Directory containing all trace event subsystems:
      enable\t\t- Write 0/1 to enable/disable tracing of all events
  events/<system>/\t- Directory containing all trace events for <system>:
      enable\t\t- Write 0/1 to enable/disable tracing of all <system>
\t\t\t  events
      filter\t\t- If set, only events passing filter are traced
  events/<system>/<event>/\t- Directory containing control files for
\t\t\t  <event>:
      enable\t\t- Write 0/1 to enable/disable tracing of <event>
      filter\t\t- If set, only events passing filter are traced
      trigger\t\t- If set, a command to perform when event is hit
\t    Format: <trigger>[:count][if <filter>]
\t   trigger: traceon, traceoff
\t\t    stacktrace
\t\t    snapshot
\t   example: echo traceoff > events/block/block_unplug/trigger
\t            echo traceoff:3 > events/block/block_unplug/trigger
\t   The first disables tracing every time block_unplug is hit.
\t   The second disables tracing the first 3 times block_unplug is hit.
\t   Like function triggers, the counter is only decremented if it
\t    enabled or disabled tracing.
\t   To remove a trigger without a count:
\t     echo '!<trigger> > <system>/<event>/trigger
\t   To remove a trigger with a count:
\t     echo '!<trigger>:0 > <system>/<event>/trigger
\t   Filters can be ignored when removing a trigger.
`;
