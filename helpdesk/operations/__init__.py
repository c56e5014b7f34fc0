"""Operations: how healthy the desk is (mail in and out, scheduler, monitor, disk, database), for administrators."""
