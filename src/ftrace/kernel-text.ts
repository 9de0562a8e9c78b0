// The emulated kernel text: a deterministic core-kernel symbol table of traceable functions (well-known
// kernel function names plus generated ones in the same style), the catalog of loadable modules with
// their functions, and the module area where loaded modules get their text (module_alloc's range from
// 0xffffffffc0000000; a module reloaded while its old range is free gets the same address, as on the
// seed's machine). Addresses are bigint on the host; Wasm gets them as two u32.
//
// Module file format (parseModuleFile): a text file, `#` starts a comment, blank lines are ignored.
//   module NAME            first meaningful line: the module's name ([A-Za-z0-9_-], '-' is read as '_')
//   FUNCTION [SIZE]        one traceable function per line, optional size in bytes (decimal or 0x hex)
// e.g.
//   module mydrv
//   mydrv_open 0x80
//   mydrv_release
import { RingtraceError } from '../errors.ts';

export const KERNEL_TEXT_START = 0xffffffff81000000n;
export const MODULES_VADDR = 0xffffffffc0000000n;
export const MODULES_END = 0xffffffffff000000n;
const PAGE = 4096n;

export interface KernelSymbol {
  name: string;
  addr: bigint;
  size: number;
  module: string | null; // null for the core kernel
}

// xorshift32, deterministic per seed
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

// A function's size from its name: mostly small, some large (16-byte aligned, like -falign-functions=16).
function sizeFor(name: string): number {
  const h = fnv1a(name);
  const r = (h & 0xffff) / 0x10000;
  const bytes = 0x20 + Math.floor(r * r * r * 0x900);
  return (bytes + 15) & ~15;
}

// Well-known functions of the core kernel, by subsystem, in roughly the order the linker lays them out.
const WELL_KNOWN: readonly (readonly [string, readonly string[]])[] = [
  ['x86', ['do_one_initcall', 'x86_64_start_kernel', 'native_write_cr0', 'native_read_msr', 'native_write_msr', 'arch_cpu_idle', 'default_idle', 'do_syscall_64', 'syscall_exit_to_user_mode', 'exit_to_user_mode_prepare', 'irqentry_enter', 'irqentry_exit', 'do_int3', 'exc_page_fault', 'do_user_addr_fault', 'handle_mm_fault', '__handle_mm_fault', 'native_flush_tlb_one_user', 'flush_tlb_mm_range', 'switch_mm_irqs_off', '__switch_to', '__switch_to_asm', 'arch_setup_new_exec', 'sysvec_apic_timer_interrupt', 'smp_call_function_many_cond', 'native_send_call_func_ipi', 'x2apic_send_IPI_mask', 'ftrace_modify_code_direct', 'ftrace_make_nop', 'ftrace_make_call', 'text_poke_bp', 'text_poke_bp_batch', 'arch_ftrace_update_code']],
  ['sched', ['schedule', '__schedule', 'schedule_timeout', 'schedule_idle', 'preempt_schedule', 'preempt_schedule_irq', 'try_to_wake_up', 'wake_up_process', 'wake_up_q', 'activate_task', 'deactivate_task', 'enqueue_task_fair', 'dequeue_task_fair', 'pick_next_task_fair', 'put_prev_task_fair', 'set_next_entity', 'update_curr', 'update_load_avg', 'task_tick_fair', 'scheduler_tick', 'sched_clock_cpu', 'check_preempt_curr', 'resched_curr', 'ttwu_do_activate', 'select_task_rq_fair', 'load_balance', 'rebalance_domains', 'idle_cpu', 'do_idle', 'cpu_startup_entry', 'finish_task_switch', 'context_switch', 'sched_fork', 'wake_up_new_task', 'set_user_nice', 'yield', 'io_schedule', 'autoremove_wake_function', 'default_wake_function', '__wake_up', '__wake_up_common', '__wake_up_common_lock', 'prepare_to_wait', 'prepare_to_wait_event', 'finish_wait', 'add_wait_queue', 'remove_wait_queue', 'complete', 'wait_for_completion', 'mutex_lock', 'mutex_unlock', 'mutex_trylock', '__mutex_lock_slowpath', 'down_read', 'up_read', 'down_write', 'up_write', 'rwsem_down_write_slowpath']],
  ['kernel', ['_raw_spin_lock', '_raw_spin_unlock', '_raw_spin_lock_irqsave', '_raw_spin_unlock_irqrestore', '_raw_spin_lock_irq', '_raw_spin_unlock_irq', '_raw_read_lock', '_raw_read_unlock', '_raw_write_lock', '_raw_write_unlock', 'do_raw_spin_lock', 'queued_spin_lock_slowpath', 'rcu_read_unlock_strict', 'rcu_note_context_switch', 'rcu_qs', 'rcu_core', 'rcu_do_batch', 'call_rcu', 'synchronize_rcu', 'kfree_rcu_monitor', '__do_softirq', 'irq_exit_rcu', 'irq_enter_rcu', 'raise_softirq', 'tasklet_action', 'run_timer_softirq', '__run_timers', 'call_timer_fn', 'mod_timer', 'add_timer', 'del_timer', 'hrtimer_interrupt', '__hrtimer_run_queues', 'hrtimer_start_range_ns', 'hrtimer_cancel', 'tick_sched_timer', 'tick_sched_handle', 'update_process_times', 'ktime_get', 'ktime_get_real_ts64', 'ktime_get_ts64', 'ktime_get_coarse_real_ts64', 'do_nanosleep', 'hrtimer_nanosleep', 'do_exit', 'do_group_exit', 'kernel_clone', 'copy_process', 'dup_task_struct', 'copy_mm', 'copy_files', 'release_task', 'do_wait', 'kernel_wait4', 'send_signal_locked', 'do_send_sig_info', 'get_signal', 'do_signal_stop', 'signal_wake_up_state', 'recalc_sigpending', 'task_work_add', 'task_work_run', 'queue_work_on', '__queue_work', 'worker_thread', 'process_one_work', 'kthread', 'kthread_should_stop', 'panic', 'printk', 'vprintk', 'vprintk_emit', 'vprintk_default', '_printk', 'console_unlock', 'warn_slowpath_common', 'warn_slowpath_null', '__warn', 'report_bug', 'handle_bug', 'exc_invalid_op', 'notifier_call_chain', 'atomic_notifier_call_chain', 'blocking_notifier_call_chain', 'kallsyms_lookup', 'kallsyms_lookup_name', 'sprint_symbol', 'load_module', 'do_init_module', 'free_module', '__do_sys_init_module', '__do_sys_finit_module', '__do_sys_delete_module', 'find_module_all', 'module_put', 'try_module_get', 'prepare_coming_module', 'ftrace_module_init', 'ftrace_module_enable', 'ftrace_release_mod', 'ftrace_free_mem', 'audit_log_start', 'audit_filter_syscall', '__audit_syscall_entry', '__audit_syscall_exit', 'cgroup_migrate', 'css_set_move_task', 'cpuset_cpus_allowed', 'smp_call_function_single', 'on_each_cpu_cond_mask', 'generic_smp_call_function_single_interrupt', 'stop_machine', 'cpuhp_invoke_callback', 'cpu_up', 'cpu_down', '_cpu_up', '_cpu_down']],
  ['trace', ['ftrace_stub', 'ftrace_ops_list_func', 'ftrace_ops_test', 'ftrace_lookup_ip', '__ftrace_hash_rec_update', 'ftrace_hash_rec_enable', 'ftrace_hash_rec_disable', 'ftrace_hash_move', 'ftrace_hash_move_and_update_ops', 'ftrace_regex_open', 'ftrace_regex_write', 'ftrace_regex_release', 'ftrace_filter_write', 'ftrace_notrace_write', 'ftrace_set_hash', 'ftrace_set_filter', 'ftrace_set_notrace', 'ftrace_startup', 'ftrace_shutdown', 'ftrace_run_update_code', 'ftrace_replace_code', 'ftrace_check_record', 'ftrace_update_code', 'ftrace_process_locs', 'register_ftrace_function', 'unregister_ftrace_function', 'register_ftrace_function_probe', 'unregister_ftrace_function_probe_func', 'ftrace_kill', 'ftrace_bug', 'ftrace_profile_write', 'function_profile_call', 'ftrace_profile_reset', 'function_stat_show', 'trace_function', 'function_trace_call', 'function_stack_trace_call', 'function_trace_init', 'function_trace_reset', 'function_trace_start', 'tracing_start_function_trace', 'tracing_stop_function_trace', 'tracing_set_tracer', 'tracing_set_trace_write', 'tracing_mark_write', 'tracing_mark_raw_write', 'tracing_on', 'tracing_off', 'tracer_tracing_on', 'tracer_tracing_off', 'tracing_is_on', 'ftrace_traceon', 'ftrace_traceoff', 'ftrace_traceon_count', 'ftrace_traceoff_count', 'ftrace_stacktrace', 'ftrace_stacktrace_count', 'ftrace_dump_probe', 'ftrace_cpudump_probe', 'ftrace_dump', 'trace_dump_stack', '__ftrace_trace_stack', 'trace_buffer_lock_reserve', 'trace_event_buffer_commit', 'trace_vbprintk', 'trace_printk_init_buffers', 'tracing_gen_ctx_irq_test', 'ring_buffer_lock_reserve', 'ring_buffer_unlock_commit', 'ring_buffer_write', 'ring_buffer_consume', 'ring_buffer_peek', 'ring_buffer_read_page', 'ring_buffer_record_off', 'ring_buffer_record_on', 'ring_buffer_resize', 'rb_reserve_next_event', 'rb_commit', 'rb_move_tail', 'rb_get_reader_page', 'rb_advance_reader', 'trace_rb_cpu_prepare', 'trace_clock_local', 'trace_clock_global', 'trace_clock_counter', 'perf_trace_run_bpf_submit', 'trace_call_bpf', 'bpf_prog_run']],
  ['mm', ['__alloc_pages', 'alloc_pages', 'get_page_from_freelist', 'rmqueue', '__free_pages', 'free_unref_page', 'free_pcppages_bulk', 'kmalloc_trace', '__kmalloc', '__kmalloc_node', 'kmem_cache_alloc', 'kmem_cache_alloc_node', 'kmem_cache_free', 'kfree', 'krealloc', 'kvmalloc_node', 'kvfree', '__slab_alloc', '___slab_alloc', '__slab_free', 'slab_pre_alloc_hook', 'vmalloc', 'vfree', '__vmalloc_node_range', 'vmap', 'vunmap', 'do_mmap', 'mmap_region', 'do_munmap', '__do_munmap', 'vm_mmap_pgoff', 'unmap_vmas', 'unmap_page_range', 'zap_pte_range', 'do_anonymous_page', 'do_wp_page', 'wp_page_copy', 'do_fault', 'filemap_fault', 'filemap_map_pages', 'filemap_get_pages', 'filemap_read', 'page_cache_ra_unbounded', 'add_to_page_cache_lru', 'lru_cache_add', 'folio_add_lru', 'folio_mark_accessed', 'mark_page_accessed', 'shrink_node', 'shrink_lruvec', 'shrink_folio_list', 'try_to_free_pages', 'kswapd', 'balance_pgdat', 'page_remove_rmap', 'page_add_file_rmap', 'copy_page_range', 'anon_vma_clone', 'anon_vma_fork', 'vma_merge', 'find_vma', 'get_user_pages_fast', 'pin_user_pages', 'copy_from_user', 'copy_to_user', '_copy_from_user', '_copy_to_user', 'memcg_slab_post_alloc_hook', '__mod_memcg_lruvec_state', 'mem_cgroup_charge', 'percpu_counter_add_batch']],
  ['fs', ['do_sys_open', 'do_sys_openat2', 'do_filp_open', 'path_openat', 'do_open', 'vfs_open', 'do_dentry_open', 'vfs_read', 'vfs_write', 'ksys_read', 'ksys_write', 'new_sync_read', 'new_sync_write', 'rw_verify_area', 'vfs_readv', 'vfs_writev', 'do_iter_read', 'do_iter_write', 'vfs_fstat', 'vfs_statx', 'vfs_getattr', 'do_statx', 'filp_close', 'fput', '__fput', '____fput', 'fget', '__fget_light', 'close_fd', 'fd_install', 'get_unused_fd_flags', 'alloc_file', 'alloc_empty_file', 'link_path_walk', 'walk_component', 'lookup_fast', 'path_lookupat', 'filename_lookup', 'getname_flags', 'putname', 'd_alloc', 'd_lookup', '__d_lookup', '__d_lookup_rcu', 'dput', 'dget_parent', 'd_instantiate', 'iget_locked', 'iput', 'new_inode', 'inode_permission', 'generic_permission', 'security_inode_permission', 'touch_atime', 'file_update_time', 'generic_file_read_iter', 'generic_file_write_iter', '__generic_file_write_iter', 'generic_perform_write', 'generic_write_end', 'block_write_begin', 'mark_buffer_dirty', 'submit_bh', 'do_sys_poll', 'do_select', 'core_sys_select', 'ep_poll', 'do_epoll_wait', 'ep_item_poll', 'pipe_read', 'pipe_write', 'seq_read', 'seq_read_iter', 'seq_printf', 'seq_puts', 'single_open', 'proc_reg_read', 'proc_reg_write', 'proc_single_show', 'sysfs_kf_seq_show', 'kernfs_fop_read_iter', 'kernfs_fop_write_iter', 'debugfs_create_file', 'tracefs_create_file', 'ext4_file_read_iter', 'ext4_file_write_iter', 'ext4_map_blocks', 'ext4_da_write_begin', 'ext4_da_write_end', 'ext4_mark_inode_dirty', 'ext4_getattr', 'ext4_lookup', 'ext4_readdir', 'jbd2_journal_start', 'jbd2_journal_stop', 'jbd2__journal_start', 'xfs_file_read_iter', 'xfs_ilock', 'xfs_iunlock', 'do_fsync', 'vfs_fsync_range', 'sync_filesystem', 'iterate_dir', 'filldir64', 'do_truncate', 'notify_change', 'fsnotify', '__fsnotify_parent', 'inotify_handle_inode_event', 'eventfd_write', 'signalfd_read', 'timerfd_read', 'mntput', 'mntget', 'path_put', 'path_get', 'lock_rename', 'vfs_unlink', 'vfs_rename', 'vfs_mkdir', 'do_mkdirat', 'do_unlinkat', 'do_renameat2', 'chmod_common', 'chown_common', 'do_faccessat', 'ksys_lseek', 'vfs_llseek', 'generic_file_llseek', 'do_vfs_ioctl', '__x64_sys_ioctl', 'vfs_ioctl', 'do_sendfile', 'splice_direct_to_actor', 'iter_file_splice_write']],
  ['security', ['security_file_open', 'security_file_permission', 'security_mmap_file', 'security_task_kill', 'selinux_file_permission', 'selinux_inode_permission', 'avc_has_perm', 'avc_has_perm_noaudit', 'apparmor_file_permission', 'cap_capable', 'ns_capable', 'capable']],
  ['block', ['submit_bio', 'submit_bio_noacct', 'blk_mq_submit_bio', 'blk_mq_run_hw_queue', 'blk_mq_dispatch_rq_list', 'blk_mq_complete_request', 'blk_mq_end_request', 'blk_update_request', 'bio_endio', 'bio_alloc_bioset', 'bio_put', 'blk_start_plug', 'blk_finish_plug', 'blk_flush_plug', 'blk_account_io_start', 'blk_account_io_done', 'blkdev_read_iter', 'blkdev_write_iter', 'blkdev_ioctl', 'blkdev_open', 'blkdev_release', 'disk_check_media_change', 'bdev_disk_changed', 'add_disk', 'del_gendisk', 'set_capacity', 'elv_merge', 'dd_dispatch_request', 'dd_insert_requests']],
  ['drivers', ['input_event', 'input_handle_event', 'input_pass_values', 'input_register_device', 'input_unregister_device', 'input_allocate_device', 'input_free_device', 'input_set_abs_params', 'input_ff_create', 'input_ff_destroy', 'input_ff_upload', 'input_ff_erase', 'evdev_events', 'evdev_read', 'evdev_write', 'misc_register', 'misc_deregister', 'misc_open', 'tty_write', 'tty_read', 'n_tty_write', 'n_tty_read', 'pty_write', 'uart_write', 'serial8250_tx_chars', 'serial8250_interrupt', 'drm_ioctl', 'drm_mode_atomic_ioctl', 'i915_gem_do_execbuffer', 'nvme_queue_rq', 'nvme_irq', 'nvme_complete_rq', 'scsi_queue_rq', 'scsi_done', 'ata_scsi_queuecmd', 'ahci_handle_port_interrupt', 'usb_submit_urb', 'usb_hcd_giveback_urb', 'xhci_irq', 'xhci_urb_enqueue', 'pci_read_config_dword', 'pci_write_config_dword', 'acpi_os_read_port', 'device_add', 'device_del', 'driver_probe_device', 'really_probe', 'kobject_uevent_env', 'platform_drv_probe', 'dev_printk_emit', '_dev_info', 'netif_carrier_on', 'netif_carrier_off', 'e1000_xmit_frame', 'e1000_clean', 'virtnet_poll', 'start_xmit', 'virtqueue_add_outbuf', 'virtqueue_kick', 'vring_interrupt']],
  ['net', ['__sys_sendto', '__sys_recvfrom', '__sys_sendmsg', '__sys_recvmsg', '__sys_connect', '__sys_accept4', '__sys_bind', '__sys_listen', '__sys_socket', 'sock_sendmsg', 'sock_recvmsg', 'sock_alloc', 'sock_release', 'sock_close', 'sock_poll', 'sock_def_readable', 'sock_wfree', 'sock_rfree', 'sk_alloc', 'sk_free', 'lock_sock_nested', 'release_sock', 'tcp_sendmsg', 'tcp_sendmsg_locked', 'tcp_recvmsg', 'tcp_recvmsg_locked', 'tcp_v4_rcv', 'tcp_v4_do_rcv', 'tcp_rcv_established', 'tcp_ack', 'tcp_clean_rtx_queue', 'tcp_transmit_skb', '__tcp_transmit_skb', 'tcp_write_xmit', 'tcp_push', 'tcp_v4_connect', 'tcp_connect', 'tcp_close', 'tcp_poll', 'tcp_data_queue', 'tcp_event_data_recv', 'tcp_rearm_rto', 'tcp_retransmit_timer', 'udp_sendmsg', 'udp_recvmsg', 'udp_rcv', '__udp4_lib_rcv', 'ip_queue_xmit', '__ip_queue_xmit', 'ip_local_out', 'ip_output', 'ip_finish_output', 'ip_finish_output2', 'ip_rcv', 'ip_rcv_finish', 'ip_local_deliver', 'ip_local_deliver_finish', 'ip_route_output_key_hash', 'fib_table_lookup', 'neigh_resolve_output', 'dev_queue_xmit', '__dev_queue_xmit', 'dev_hard_start_xmit', 'sch_direct_xmit', '__qdisc_run', 'pfifo_fast_dequeue', 'netif_rx', 'netif_receive_skb', '__netif_receive_skb_core', 'napi_gro_receive', 'net_rx_action', 'net_tx_action', '__napi_poll', 'napi_complete_done', 'alloc_skb', '__alloc_skb', 'kfree_skb', 'kfree_skb_reason', 'consume_skb', 'skb_release_data', 'skb_clone', 'skb_copy_datagram_iter', 'skb_put', 'skb_push', 'nf_hook_slow', 'nf_conntrack_in', 'ipt_do_table', 'unix_stream_sendmsg', 'unix_stream_recvmsg', 'unix_dgram_sendmsg', 'netlink_sendmsg', 'netlink_unicast', 'rtnetlink_rcv_msg', 'inet_sendmsg', 'inet_recvmsg', 'inet_release', 'inet_csk_accept', 'sk_stream_wait_memory']],
  ['lib', ['memcpy', 'memset', 'memmove', 'memcmp', 'strlen', 'strnlen', 'strcmp', 'strncmp', 'strscpy', 'strchr', 'sprintf', 'snprintf', 'vsnprintf', 'scnprintf', 'kstrtoul', 'kstrtoint', 'simple_strtoul', 'glob_match', 'idr_alloc', 'idr_find', 'idr_remove', 'radix_tree_lookup', 'xa_load', 'xas_load', 'xas_store', 'rb_insert_color', 'rb_erase', 'rb_next', 'rb_first', '__list_add_valid', '__list_del_entry_valid', 'sort', 'bsearch', 'crc32_le', 'csum_partial', 'find_next_bit', '_find_next_bit', 'bitmap_weight', 'cpumask_next', 'refcount_warn_saturate', 'dump_stack', 'dump_stack_lvl', 'show_stack', 'fortify_panic', 'iov_iter_init', 'copy_page_to_iter', 'copy_page_from_iter', '_copy_to_iter', '_copy_from_iter']],
  // the process lifecycle the living kernel runs for a shell's commands: fork (kernel/fork.c), exec
  // (fs/exec.c, fs/binfmt_elf.c), exit and wait (kernel/exit.c)
  ['kernel', ['__do_sys_clone', 'arch_dup_task_struct', '__sched_fork', 'copy_fs', 'copy_sighand', 'copy_signal', 'copy_thread', 'alloc_pid', 'sched_cgroup_fork', '_raw_write_lock_irq', '_raw_write_unlock_irq', 'ret_from_fork', 'schedule_tail', 'sched_exec', '__set_task_comm', '__x64_sys_exit_group', 'exit_signals', 'exit_notify', 'do_notify_parent', '__wake_up_parent', 'do_task_dead', 'exit_task_namespaces', '__do_sys_wait4', '__do_wait', 'do_wait_thread', 'wait_consider_task', 'wait_task_zombie', '__exit_signal']],
  // irq_work (kernel/irq_work.c) and its self-IPI, what a module's init may queue
  ['kernel', ['irq_work_queue', 'irq_work_sync', 'sysvec_irq_work', '__sysvec_irq_work', 'irq_work_run', 'irq_work_single']],
  ['mm', ['dup_mm', 'dup_mmap', 'down_write_killable', 'vm_area_dup', 'copy_pte_range', 'mm_alloc', 'mmput', 'exit_mm', 'exit_mmap', 'free_pgtables']],
  ['fs', ['dup_fd', '__x64_sys_execve', 'do_execve', 'do_execveat_common', 'alloc_bprm', 'bprm_mm_init', 'copy_string_kernel', 'copy_strings', 'bprm_execve', 'prepare_bprm_creds', 'do_open_execat', 'exec_binprm', 'search_binary_handler', 'load_elf_binary', 'begin_new_exec', 'exec_mmap', 'setup_new_exec', 'setup_arg_pages', 'start_thread', 'exit_files', 'put_files_struct', 'exit_fs']],
];

// Generated names: each subsystem's prefixes combined with verbs and objects, like static helpers.
const GEN_PREFIXES: readonly (readonly [string, readonly string[]])[] = [
  ['x86', ['x86', 'native', 'apic', 'intel', 'amd', 'kvm', 'pv', 'mce', 'perf_ibs', 'tsc', 'hpet', 'e820', 'early', 'vmx', 'svm']],
  ['sched', ['sched', 'cfs', 'rt', 'dl', 'cpufreq', 'psi', 'uclamp', 'numa', 'membarrier', 'wq', 'idle', 'cpuacct']],
  ['kernel', ['rcu', 'irq', 'timer', 'hrtimer', 'tick', 'clockevents', 'posix_cpu', 'signal', 'cgroup', 'css', 'cpuset', 'audit', 'kprobe', 'uprobe', 'module', 'kallsyms', 'futex', 'pid', 'ptrace', 'sys', 'user_ns', 'cred', 'printk', 'console', 'watchdog', 'lockdep', 'pm', 'hibernate', 'suspend', 'kexec', 'bpf', 'btf', 'perf', 'seccomp', 'taskstats', 'umh', 'workqueue', 'kthread', 'smpboot', 'cpuhp', 'padata', 'dma', 'swiotlb', 'jump_label', 'static_call', 'kcsan', 'kmsan', 'trace', 'ftrace', 'ring_buffer', 'tracing', 'event', 'fgraph', 'fprobe', 'rethook', 'osnoise', 'hwlat']],
  ['mm', ['mm', 'page', 'folio', 'slab', 'slub', 'kmem', 'vma', 'vmalloc', 'mmap', 'madvise', 'mlock', 'mempolicy', 'migrate', 'compact', 'khugepaged', 'hugetlb', 'thp', 'memcg', 'swap', 'zswap', 'zsmalloc', 'shmem', 'readahead', 'writeback', 'balance_dirty', 'lru', 'workingset', 'ksm', 'userfaultfd', 'memblock', 'sparse', 'percpu', 'kasan', 'kfence', 'damon', 'gup', 'rmap', 'pgtable', 'pte', 'pmd', 'pud']],
  ['fs', ['vfs', 'dcache', 'inode', 'namei', 'file', 'super', 'mount', 'fs_context', 'pipe', 'splice', 'aio', 'io_uring', 'io', 'eventpoll', 'fsnotify', 'inotify', 'fanotify', 'locks', 'proc', 'sysfs', 'kernfs', 'configfs', 'debugfs', 'tracefs', 'ext4', 'ext4_mb', 'ext4_ext', 'ext4_es', 'ext4_fc', 'jbd2', 'xfs', 'xfs_bmap', 'xfs_trans', 'xfs_log', 'btrfs', 'btrfs_tree', 'btrfs_delayed', 'nfs', 'nfs4', 'nfsd', 'fuse', 'overlay', 'ovl', 'fat', 'vfat', 'exfat', 'ntfs3', 'iomap', 'buffer', 'bdi', 'quota', 'dquot', 'posix_acl', 'xattr', 'fscrypt', 'fsverity', 'erofs', 'squashfs', 'isofs', 'autofs', 'tmpfs', 'ramfs', 'hugetlbfs', 'devpts', 'binfmt', 'coredump', 'exec']],
  ['security', ['security', 'selinux', 'avc', 'smack', 'apparmor', 'aa', 'tomoyo', 'landlock', 'yama', 'integrity', 'ima', 'evm', 'keyring', 'key', 'lsm', 'bpf_lsm']],
  ['crypto', ['crypto', 'aes', 'sha256', 'sha512', 'chacha', 'poly1305', 'gcm', 'skcipher', 'ahash', 'shash', 'akcipher', 'rsa', 'ecdh', 'drbg', 'jent', 'af_alg']],
  ['block', ['blk', 'blk_mq', 'bio', 'bdev', 'disk', 'elv', 'dd', 'bfq', 'kyber', 'iocost', 'blkcg', 'blk_crypto', 'bsg', 'sd', 'sr', 'dm', 'md', 'raid5', 'raid1', 'nvme', 'nvmet']],
  ['drivers', ['acpi', 'pci', 'pcie', 'msi', 'iommu', 'intel_iommu', 'amd_iommu', 'dmar', 'gpio', 'pinctrl', 'i2c', 'spi', 'regmap', 'clk', 'regulator', 'power_supply', 'thermal', 'hwmon', 'cpuidle', 'devfreq', 'rtc', 'watchdog_dev', 'tty', 'serial', 'uart', 'vt', 'fbcon', 'drm', 'drm_atomic', 'drm_gem', 'i915', 'amdgpu', 'nouveau', 'ttm', 'dma_buf', 'dma_fence', 'input', 'hid', 'usb', 'usbhid', 'xhci', 'ehci', 'ohci', 'hub', 'scsi', 'ata', 'ahci', 'libata', 'virtio', 'vring', 'vhost', 'vfio', 'kvm_vfio', 'mmc', 'sdhci', 'nvmem', 'firmware', 'efi', 'dmi', 'edac', 'mei', 'tpm', 'hw_random', 'rfkill', 'led', 'sound', 'snd_pcm', 'snd_hda', 'snd_soc', 'v4l2', 'vb2', 'uvc', 'bluetooth', 'hci', 'l2cap', 'cfg80211', 'ieee80211', 'iwl', 'ath', 'e1000e', 'igb', 'ixgbe', 'i40e', 'ice', 'mlx5', 'bnxt', 'r8169', 'tg3', 'virtnet', 'tun', 'bridge', 'bond', 'macvlan', 'vxlan', 'wireguard', 'ppp']],
  ['net', ['net', 'netdev', 'dev', 'sock', 'sk', 'skb', 'tcp', 'tcp_bbr', 'tcp_cubic', 'udp', 'ip', 'ipv4', 'ipv6', 'ip6', 'icmp', 'icmpv6', 'arp', 'neigh', 'fib', 'fib6', 'route', 'rtnl', 'netlink', 'genl', 'nf', 'nft', 'nf_conntrack', 'nf_nat', 'xt', 'ipt', 'ip6t', 'ebt', 'xfrm', 'esp', 'ah', 'sctp', 'dccp', 'unix', 'packet', 'raw', 'inet', 'inet6', 'igmp', 'mld', 'gro', 'gso', 'xdp', 'bpf_sk', 'qdisc', 'htb', 'fq', 'fq_codel', 'tc', 'cls', 'act', 'mptcp', 'tls', 'ethtool', 'devlink', 'page_pool', 'flow', 'dst', 'vlan', 'llc', 'stp', 'nl80211', 'rxrpc', 'sunrpc', 'rpc', 'xprt', 'svc', 'ceph']],
  ['lib', ['lib', 'str', 'bitmap', 'cpumask', 'kobject', 'kref', 'idr', 'ida', 'xa', 'radix_tree', 'rhashtable', 'llist', 'list_lru', 'lockref', 'seq_buf', 'iov_iter', 'crc', 'zlib', 'lz4', 'zstd', 'xz', 'decompress', 'base64', 'uuid', 'random', 'prandom', 'debugobjects', 'ubsan', 'kunit', 'test', 'maple', 'mas', 'sbitmap', 'genalloc', 'scatterlist', 'sg', 'nla', 'ts', 'textsearch', 'assoc_array', 'klist', 'ratelimit', 'dynamic_debug', 'fault', 'stackdepot', 'ref_tracker']],
];
const GEN_VERBS = ['init', 'exit', 'alloc', 'free', 'get', 'put', 'find', 'lookup', 'add', 'del', 'remove', 'insert', 'update', 'set', 'clear', 'reset', 'read', 'write', 'open', 'release', 'start', 'stop', 'enable', 'disable', 'register', 'unregister', 'create', 'destroy', 'attach', 'detach', 'queue', 'dequeue', 'submit', 'complete', 'flush', 'sync', 'map', 'unmap', 'lock', 'unlock', 'try', 'check', 'validate', 'parse', 'show', 'store', 'handle', 'process', 'prepare', 'finish', 'commit', 'abort', 'copy', 'move', 'split', 'merge', 'scan', 'walk', 'count', 'account', 'charge', 'uncharge', 'grab', 'drop', 'poll', 'wait', 'wake', 'notify', 'resume', 'suspend', 'probe', 'remove_one', 'setup', 'teardown', 'fill', 'build', 'emit', 'print', 'dump', 'seq', 'refresh', 'activate', 'deactivate', 'install', 'select', 'match', 'compare', 'hash', 'resize', 'grow', 'shrink', 'reclaim', 'isolate', 'evict', 'mark', 'test', 'fixup', 'restore', 'save', 'convert', 'encode', 'decode', 'send', 'recv', 'xmit', 'rcv', 'bind', 'connect', 'listen', 'accept'];
const GEN_OBJECTS = ['', 'entry', 'entries', 'node', 'nodes', 'page', 'pages', 'folio', 'buffer', 'buf', 'queue', 'request', 'req', 'cache', 'ctx', 'context', 'state', 'desc', 'info', 'data', 'table', 'list', 'map', 'range', 'region', 'block', 'blocks', 'inode', 'dentry', 'file', 'sb', 'dev', 'device', 'driver', 'bus', 'port', 'link', 'irq', 'work', 'timer', 'task', 'thread', 'cpu', 'cpus', 'group', 'policy', 'stats', 'counters', 'event', 'events', 'handler', 'ops', 'cb', 'rcu', 'lock', 'key', 'keys', 'msg', 'frame', 'skb', 'packet', 'flow', 'route', 'addr', 'hdr', 'opts', 'params', 'attr', 'attrs', 'ref', 'refs', 'tree', 'root', 'leaf', 'slot', 'slots', 'chunk', 'extent', 'segment', 'sector', 'bio', 'rq', 'hw', 'fw', 'mode', 'config', 'limits', 'quota', 'credit', 'budget', 'tail', 'head', 'pending', 'deferred', 'locked', 'slow', 'fast', 'nolock', 'irqsafe', 'common', 'generic', 'one', 'all', 'range_locked'];

// The functions of the emulated .irqentry.text (__irqentry_text_start .. __irqentry_text_end): where an
// interrupt enters the kernel, what function_graph marks with ==========> and funcgraph-irqs hides.
export const IRQENTRY_TEXT: ReadonlySet<string> = new Set(['sysvec_apic_timer_interrupt', 'sysvec_irq_work', 'serial8250_interrupt', 'nvme_irq', 'xhci_irq', 'vring_interrupt']);

// Who calls whom in the emulated kernel: the callees of a function, in call order, as a 6.x x86-64
// kernel runs them (inlined helpers left out). callTree() unfolds them for Workload.callGraph(), so
// workloads and the living kernel's activity call real chains and function_graph shows real nesting.
export const KERNEL_CALLS: Readonly<Record<string, readonly string[]>> = {
  do_syscall_64: ['syscall_exit_to_user_mode'],
  syscall_exit_to_user_mode: ['exit_to_user_mode_prepare'],
  ksys_read: ['__fget_light', 'vfs_read'],
  ksys_write: ['__fget_light', 'vfs_write'],
  vfs_read: ['rw_verify_area', 'seq_read', '__fsnotify_parent'],
  vfs_write: ['rw_verify_area', 'proc_reg_write', '__fsnotify_parent'],
  rw_verify_area: ['security_file_permission'],
  security_file_permission: ['selinux_file_permission'],
  seq_read: ['seq_read_iter'],
  seq_read_iter: ['mutex_lock', 'kvmalloc_node', 'mutex_unlock'],
  kvmalloc_node: ['__kmalloc_node'],
  schedule: ['__schedule'],
  __schedule: ['rcu_note_context_switch', '_raw_spin_lock', 'dequeue_task_fair', 'pick_next_task_fair', 'switch_mm_irqs_off', 'finish_task_switch'],
  rcu_note_context_switch: ['rcu_qs'],
  dequeue_task_fair: ['update_curr', 'update_load_avg'],
  pick_next_task_fair: ['update_curr', 'set_next_entity'],
  do_nanosleep: ['hrtimer_start_range_ns', 'schedule'],
  hrtimer_nanosleep: ['do_nanosleep'],
  hrtimer_start_range_ns: ['_raw_spin_lock_irqsave', '_raw_spin_unlock_irqrestore'],
  sysvec_apic_timer_interrupt: ['irq_enter_rcu', 'hrtimer_interrupt', 'irq_exit_rcu'],
  hrtimer_interrupt: ['_raw_spin_lock_irqsave', '__hrtimer_run_queues', '_raw_spin_unlock_irqrestore'],
  __hrtimer_run_queues: ['tick_sched_timer'],
  tick_sched_timer: ['ktime_get', 'tick_sched_handle'],
  tick_sched_handle: ['update_process_times'],
  update_process_times: ['scheduler_tick'],
  scheduler_tick: ['_raw_spin_lock', 'task_tick_fair'],
  task_tick_fair: ['update_curr'],
  // fork(2): copy_process() takes pidmap_lock in alloc_pid(), tasklist_lock and the parent's siglock
  // to link the child, and the mm's locks in dup_mmap() (mmap_lock, the anon_vma's rwsem, the page
  // table locks in copy_pte_range())
  __do_sys_clone: ['kernel_clone'],
  kernel_clone: ['copy_process', 'wake_up_new_task'],
  copy_process: ['dup_task_struct', 'sched_fork', 'copy_files', 'copy_fs', 'copy_sighand', 'copy_signal', 'copy_mm', 'copy_thread', 'alloc_pid', 'sched_cgroup_fork', '_raw_write_lock_irq', '_raw_spin_lock', '_raw_spin_unlock', '_raw_write_unlock_irq'],
  dup_task_struct: ['kmem_cache_alloc_node', 'arch_dup_task_struct'],
  sched_fork: ['__sched_fork'],
  copy_files: ['dup_fd'],
  dup_fd: ['kmem_cache_alloc', '_raw_spin_lock', '_raw_spin_unlock'],
  copy_fs: ['_raw_spin_lock', '_raw_spin_unlock'],
  copy_sighand: ['kmem_cache_alloc'],
  copy_signal: ['kmem_cache_alloc'],
  copy_mm: ['dup_mm'],
  dup_mm: ['kmem_cache_alloc', 'dup_mmap'],
  dup_mmap: ['down_write_killable', 'vm_area_dup', 'anon_vma_fork', 'copy_page_range', 'up_write'],
  vm_area_dup: ['kmem_cache_alloc'],
  anon_vma_fork: ['anon_vma_clone'],
  anon_vma_clone: ['down_write', 'up_write'],
  copy_page_range: ['copy_pte_range'],
  copy_pte_range: ['_raw_spin_lock', '_raw_spin_unlock'],
  alloc_pid: ['kmem_cache_alloc', '_raw_spin_lock_irq', '_raw_spin_unlock_irq'],
  wake_up_new_task: ['_raw_spin_lock_irqsave', 'select_task_rq_fair', 'activate_task', '_raw_spin_unlock_irqrestore'],
  // the child's first return to user space
  ret_from_fork: ['schedule_tail', 'syscall_exit_to_user_mode'],
  schedule_tail: ['finish_task_switch'],
  // execve(2); the new comm is set in begin_new_exec() -> __set_task_comm()
  __x64_sys_execve: ['getname_flags', 'do_execve'],
  do_execve: ['do_execveat_common'],
  do_execveat_common: ['alloc_bprm', 'copy_string_kernel', 'copy_strings', 'bprm_execve'],
  alloc_bprm: ['__kmalloc', 'do_open_execat', 'bprm_mm_init'],
  do_open_execat: ['do_filp_open'],
  bprm_mm_init: ['mm_alloc', 'down_write_killable', 'up_write'],
  bprm_execve: ['prepare_bprm_creds', 'sched_exec', 'exec_binprm'],
  exec_binprm: ['search_binary_handler'],
  search_binary_handler: ['_raw_read_lock', '_raw_read_unlock', 'load_elf_binary'],
  load_elf_binary: ['begin_new_exec', 'setup_new_exec', 'setup_arg_pages', 'start_thread'],
  begin_new_exec: ['exec_mmap', '__set_task_comm'],
  exec_mmap: ['down_read', 'up_read', 'mmput'],
  __set_task_comm: ['_raw_spin_lock', '_raw_spin_unlock'],
  // exit_group(2)
  __x64_sys_exit_group: ['do_group_exit'],
  do_group_exit: ['do_exit'],
  do_exit: ['exit_signals', 'exit_mm', 'exit_files', 'exit_fs', 'exit_task_namespaces', 'exit_notify', 'do_task_dead'],
  exit_signals: ['_raw_spin_lock_irq', '_raw_spin_unlock_irq'],
  exit_mm: ['down_read', 'up_read', 'mmput'],
  mmput: ['exit_mmap'],
  exit_mmap: ['unmap_vmas', 'free_pgtables'],
  exit_files: ['put_files_struct'],
  put_files_struct: ['filp_close'],
  exit_fs: ['_raw_spin_lock', '_raw_spin_unlock'],
  exit_notify: ['_raw_write_lock_irq', 'do_notify_parent', '_raw_write_unlock_irq'],
  do_notify_parent: ['__wake_up_parent'],
  do_task_dead: ['__schedule'],
  // the irq_work self-IPI: its handler runs the queued works
  sysvec_irq_work: ['__sysvec_irq_work'],
  __sysvec_irq_work: ['irq_work_run'],
  irq_work_run: ['irq_work_single'],
  // wait4(2) reaping a zombie child
  __do_sys_wait4: ['kernel_wait4'],
  kernel_wait4: ['do_wait'],
  do_wait: ['add_wait_queue', '__do_wait', 'remove_wait_queue'],
  __do_wait: ['_raw_read_lock', 'do_wait_thread', '_raw_read_unlock'],
  do_wait_thread: ['wait_consider_task'],
  wait_consider_task: ['wait_task_zombie'],
  wait_task_zombie: ['release_task'],
  release_task: ['_raw_write_lock_irq', '__exit_signal', '_raw_write_unlock_irq'],
  activate_task: ['enqueue_task_fair'],
  enqueue_task_fair: ['update_curr', 'update_load_avg'],
};

export interface KernelCallNode {
  fn: string;
  children?: KernelCallNode[];
}

// The call tree below `fn` (KERNEL_CALLS), at most `depth` levels deep.
export function callTree(fn: string, depth = 16): KernelCallNode {
  const callees = depth > 1 ? KERNEL_CALLS[fn] ?? [] : [];
  return callees.length ? { fn, children: callees.map((c) => callTree(c, depth - 1)) } : { fn };
}

// A function's stack frame in bytes (what the stack tracer adds up): from its name, 16-byte aligned,
// mostly 16..208 bytes, one in 32 functions keeps a large local buffer (up to 1 KiB).
export function frameSize(name: string): number {
  const h = fnv1a(`frame:${name}`);
  if ((h & 31) === 0) return 256 + ((h >>> 5) % 49) * 16;
  return 16 + ((h >>> 5) % 13) * 16;
}

export interface KernelTextOptions {
  functions?: number; // traceable core functions (default 40000; at least the well-known ones)
  seed?: number;
}

// The core kernel: symbols sorted by address.
export function buildCoreText(opts: KernelTextOptions = {}): KernelSymbol[] {
  const want = opts.functions ?? 40000;
  const rand = rng(opts.seed ?? 0x5eed1234);
  const used = new Set<string>();
  const sections = new Map<string, string[]>();
  for (const [sec, names] of WELL_KNOWN) {
    const list = sections.get(sec) ?? [];
    for (const n of names) {
      if (used.has(n)) continue;
      used.add(n);
      list.push(n);
    }
    sections.set(sec, list);
  }
  const secNames = GEN_PREFIXES.map(([s]) => s);
  for (const s of secNames) if (!sections.has(s)) sections.set(s, []);
  const weight = (s: string) => GEN_PREFIXES.find(([n]) => n === s)![1].length;
  const totalWeight = secNames.reduce((a, s) => a + weight(s), 0);
  let have = used.size;
  let guard = 0;
  while (have < want && guard++ < want * 20) {
    let pick = rand() % totalWeight;
    let sec = secNames[0];
    for (const s of secNames) {
      const w = weight(s);
      if (pick < w) {
        sec = s;
        break;
      }
      pick -= w;
    }
    const prefixes = GEN_PREFIXES.find(([n]) => n === sec)![1];
    const prefix = prefixes[rand() % prefixes.length];
    const verb = GEN_VERBS[rand() % GEN_VERBS.length];
    const obj = GEN_OBJECTS[rand() % GEN_OBJECTS.length];
    const r = rand() % 16;
    let name = obj ? `${prefix}_${verb}_${obj}` : `${prefix}_${verb}`;
    if (r === 0) name = `__${name}`;
    else if (r === 1 && !obj.endsWith('locked')) name = `${name}_locked`;
    else if (r === 2) name = `do_${name}`;
    if (used.has(name)) continue;
    used.add(name);
    sections.get(sec)!.push(name);
    have++;
  }
  // lay out: sections in link order, each section's functions shuffled (file order) then placed
  const order = ['x86', 'sched', 'kernel', 'trace', 'mm', 'fs', 'security', 'crypto', 'block', 'drivers', 'net', 'lib'];
  const out: KernelSymbol[] = [];
  let addr = KERNEL_TEXT_START + 0x1000n;
  for (const sec of order) {
    const names = sections.get(sec) ?? [];
    for (let i = names.length - 1; i > 0; i--) {
      const j = rand() % (i + 1);
      [names[i], names[j]] = [names[j], names[i]];
    }
    for (const name of names) {
      const size = sizeFor(name);
      out.push({ name, addr, size, module: null });
      // padding between functions: alignment, and now and then a non-traceable (notrace, inline asm) stretch
      const gap = rand() % 8 === 0 ? 16 * (1 + (rand() % 24)) : 0;
      addr += BigInt(size + gap);
    }
    addr = (addr + 0xfffn) & ~0xfffn;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// modules

export interface ModuleFunction {
  name: string;
  size: number;
}

export interface ModuleDef {
  name: string;
  functions: readonly ModuleFunction[];
  textSize: number; // bytes of .text (page aligned)
  builtin: boolean; // from the catalog (an in-tree module), or defined by the user (taints: O)
}

// Functions of modules the catalog knows (from their drivers' sources).
const CATALOG: Record<string, readonly string[]> = {
  uinput: [
    'uinput_request_alloc_id', 'uinput_request_find', 'uinput_request_reserve_slot', 'uinput_request_release_slot',
    'uinput_request_send', 'uinput_request_submit', 'uinput_flush_requests', 'uinput_dev_set_gain',
    'uinput_dev_set_autocenter', 'uinput_dev_playback', 'uinput_dev_upload_effect', 'uinput_dev_erase_effect',
    'uinput_dev_event', 'uinput_dev_flush', 'uinput_destroy_device', 'uinput_create_device', 'uinput_open',
    'uinput_validate_absinfo', 'uinput_validate_absbits', 'uinput_dev_setup', 'uinput_abs_setup',
    'uinput_setup_device_legacy', 'uinput_fetch_next_event', 'uinput_inject_events', 'uinput_write',
    'uinput_events_to_user', 'uinput_read', 'uinput_poll', 'uinput_release', 'uinput_ff_upload_to_user',
    'uinput_ff_upload_from_user', 'uinput_str_to_user', 'uinput_ioctl_handler', 'uinput_ioctl', 'uinput_compat_ioctl',
  ],
  dummy: ['set_multicast_list', 'dummy_get_stats64', 'dummy_xmit', 'dummy_dev_init', 'dummy_dev_uninit', 'dummy_change_carrier', 'dummy_setup', 'dummy_validate'],
  loop: [
    'loop_global_lock_killable', 'loop_global_unlock', 'get_size', 'get_loop_size', 'lo_can_use_dio', 'loop_update_dio',
    'loop_set_size', 'loop_rw_aio_complete', 'lo_rw_aio_do_completion', 'lo_rw_aio', 'lo_complete_rq', 'lo_req_flush',
    'lo_fallocate', 'do_req_filebacked', 'loop_reread_partitions', 'is_loop_device', 'loop_validate_file',
    'loop_assign_backing_file', 'loop_change_fd', 'loop_attr_show', 'loop_attr_backing_file_show',
    'loop_attr_offset_show', 'loop_attr_sizelimit_show', 'loop_attr_autoclear_show', 'loop_attr_partscan_show',
    'loop_attr_dio_show', 'loop_sysfs_init', 'loop_sysfs_exit', 'loop_config_discard', 'loop_queue_work',
    'loop_set_timer', 'loop_free_idle_workers', 'loop_free_idle_workers_timer', 'loop_update_rotational',
    'loop_set_status_from_info', 'loop_configure', '__loop_clr_fd', 'loop_clr_fd', 'loop_set_status',
    'loop_get_status', 'loop_set_status_old', 'loop_set_status64', 'loop_get_status_old', 'loop_get_status64',
    'loop_set_capacity', 'loop_set_dio', 'loop_set_block_size', 'lo_simple_ioctl', 'lo_ioctl', 'lo_compat_ioctl',
    'lo_open', 'lo_release', 'lo_free_disk', 'loop_queue_rq', 'loop_handle_cmd', 'loop_process_work', 'loop_workfn',
    'loop_rootcg_workfn', 'loop_add', 'loop_remove', 'loop_probe', 'loop_control_remove', 'loop_control_get_free',
    'loop_control_ioctl',
  ],
  'snd-dummy': ['dummy_hrtimer_start', 'dummy_hrtimer_stop', 'dummy_hrtimer_callback', 'dummy_hrtimer_pointer', 'dummy_pcm_trigger', 'dummy_pcm_prepare', 'dummy_pcm_open', 'dummy_pcm_close', 'dummy_pcm_hw_params', 'snd_dummy_probe', 'snd_card_dummy_pcm'],
  'ftrace-direct': ['my_direct_func', 'ftrace_direct_init', 'ftrace_direct_exit'],
  // samples/trace_printk/trace-printk.c; trace_printk_init() is __init (its record goes when init
  // returns, ftrace_free_mem()) and trace_printk_exit() is empty
  'trace-printk': ['trace_printk_irq_work'],
};

// modprobe accepts '-' and '_' alike (module names are stored with '_')
export function moduleName(name: string): string {
  return name.replace(/-/g, '_');
}

function makeDef(name: string, functions: readonly ModuleFunction[], builtin: boolean): ModuleDef {
  const total = functions.reduce((a, f) => a + f.size, 0);
  return { name, functions, textSize: Math.max(4096, Math.ceil(total / 4096) * 4096), builtin };
}

export function catalogModules(): ModuleDef[] {
  return Object.entries(CATALOG).map(([name, fns]) => makeDef(moduleName(name), fns.map((f) => ({ name: f, size: sizeFor(`${name}:${f}`) })), true));
}

const NAME_RE = /^[A-Za-z0-9_-]{1,55}$/;
const FUNC_RE = /^[A-Za-z_.$][A-Za-z0-9_.$]{0,510}$/;

export function checkModuleDef(name: string, functions: readonly (string | ModuleFunction)[]): ModuleDef {
  if (!NAME_RE.test(name)) throw new RingtraceError('EINVAL', `bad module name "${name}" (1 to 55 of [A-Za-z0-9_-])`);
  if (functions.length === 0) throw new RingtraceError('EINVAL', `module ${name} has no functions`);
  const seen = new Set<string>();
  const fns: ModuleFunction[] = [];
  for (const f of functions) {
    const fn = typeof f === 'string' ? { name: f, size: sizeFor(`${name}:${f}`) } : f;
    if (!FUNC_RE.test(fn.name)) throw new RingtraceError('EINVAL', `module ${name}: bad function name "${fn.name}"`);
    if (seen.has(fn.name)) throw new RingtraceError('EINVAL', `module ${name}: function ${fn.name} defined twice`);
    if (!Number.isInteger(fn.size) || fn.size < 1 || fn.size > 1 << 20) {
      throw new RingtraceError('EINVAL', `module ${name}: function ${fn.name} has a bad size ${fn.size}`);
    }
    seen.add(fn.name);
    fns.push({ name: fn.name, size: (fn.size + 15) & ~15 });
  }
  return makeDef(moduleName(name), fns, false);
}

// The module file format described at the top of this file.
export function parseModuleFile(text: string): ModuleDef {
  let name: string | undefined;
  const fns: ModuleFunction[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/#.*/, '').trim();
    if (!line) continue;
    const words = line.split(/\s+/);
    if (name === undefined) {
      if (words[0] !== 'module' || words.length !== 2) {
        throw new RingtraceError('EINVAL', `line ${i + 1}: expected "module NAME", got "${line}"`);
      }
      name = words[1];
      continue;
    }
    if (words.length > 2) throw new RingtraceError('EINVAL', `line ${i + 1}: expected "FUNCTION [SIZE]", got "${line}"`);
    let size = sizeFor(`${name}:${words[0]}`);
    if (words.length === 2) {
      if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(words[1])) throw new RingtraceError('EINVAL', `line ${i + 1}: bad size "${words[1]}"`);
      size = Number(words[1]);
    }
    fns.push({ name: words[0], size });
  }
  if (name === undefined) throw new RingtraceError('EINVAL', 'no "module NAME" line');
  return checkModuleDef(name, fns);
}

// The module area: first fit in page units with a guard page after each module, except that a module
// reloaded while its previous range is free goes back there.
export class ModuleArea {
  private readonly loaded = new Map<string, { base: bigint; size: bigint }>();
  private readonly last = new Map<string, bigint>();

  private free(base: bigint, size: bigint): boolean {
    if (base < MODULES_VADDR || base + size > MODULES_END) return false;
    for (const r of this.loaded.values()) {
      if (base < r.base + r.size + PAGE && r.base < base + size + PAGE) return false;
    }
    return true;
  }

  alloc(name: string, textSize: number): bigint {
    const size = BigInt(Math.ceil(textSize / 4096) * 4096);
    const prev = this.last.get(name);
    let base: bigint | undefined = prev !== undefined && this.free(prev, size) ? prev : undefined;
    if (base === undefined) {
      const ranges = [...this.loaded.values()].sort((a, b) => (a.base < b.base ? -1 : 1));
      let at = MODULES_VADDR;
      for (const r of ranges) {
        if (at + size + PAGE <= r.base) break;
        if (r.base + r.size + PAGE > at) at = r.base + r.size + PAGE;
      }
      if (at + size > MODULES_END) throw new RingtraceError('ENOMEM', `no room for module ${name} in the module area`);
      base = at;
    }
    this.loaded.set(name, { base, size });
    this.last.set(name, base);
    return base;
  }

  release(name: string): void {
    this.loaded.delete(name);
  }
}
